/** The API client and KFC throw plain {status, statusText, data} objects; make them readable in logs and events. */
export function errorText(e: unknown): string {
  if (e instanceof Error) return e.message;
  const r = e as { status?: number; statusText?: string; data?: { message?: string } };
  return r?.status
    ? `${r.status} ${r.statusText ?? ""}: ${r.data?.message ?? JSON.stringify(r.data)}`
    : JSON.stringify(e);
}
