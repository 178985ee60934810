import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { rename, rm } from "node:fs/promises";
import { once } from "node:events";

/**
 * One member of a tar written by writeTar. Owner, mode and time come from here, never from the disk, so
 * the same entries always give the same bytes (and so the same layer digest).
 */
export type TarEntry =
  | { type: "dir"; path: string; mode: number; uid: number; gid: number }
  | { type: "symlink"; path: string; target: string; uid: number; gid: number }
  | {
      type: "file";
      path: string;
      mode: number;
      uid: number;
      gid: number;
      /** Copied from this file (streamed), or taken from `content`. */
      source: { file: string; size: number } | { content: Buffer };
    };

const BLOCK = 512;
const TYPE = { file: "0", symlink: "2", dir: "5", pax: "x" } as const;

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, "0") + "\0";
}

function header(fields: {
  name: string;
  prefix?: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  type: string;
  linkname?: string;
}): Buffer {
  const h = Buffer.alloc(BLOCK);
  h.write(fields.name, 0, 100, "utf8");
  h.write(octal(fields.mode, 8), 100, 8, "ascii");
  h.write(octal(fields.uid, 8), 108, 8, "ascii");
  h.write(octal(fields.gid, 8), 116, 8, "ascii");
  h.write(octal(fields.size, 12), 124, 12, "ascii");
  h.write(octal(fields.mtime, 12), 136, 12, "ascii");
  h.write("        ", 148, 8, "ascii");
  h.write(fields.type, 156, 1, "ascii");
  h.write(fields.linkname ?? "", 157, 100, "utf8");
  h.write("ustar\0" + "00", 257, 8, "ascii");
  h.write(fields.prefix ?? "", 345, 155, "utf8");
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(octal(sum, 7) + " ", 148, 8, "ascii");
  return h;
}

/** ustar splits a long name at a slash into prefix (155) and name (100); null when it cannot. */
function splitName(path: string): { name: string; prefix: string } | null {
  if (Buffer.byteLength(path) <= 100) return { name: path, prefix: "" };
  for (let i = path.lastIndexOf("/"); i > 0; i = path.lastIndexOf("/", i - 1)) {
    const prefix = path.slice(0, i);
    const name = path.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(name) <= 100 && name)
      return { name, prefix };
  }
  return null;
}

/** A pax record "<len> key=value\n", where len counts the whole record including its own digits. */
function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let len = Buffer.byteLength(body) + 1;
  while (String(len).length + Buffer.byteLength(body) !== len) len++;
  return `${len}${body}`;
}

const padding = (size: number) => Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);

/**
 * Writes a tar (ustar, pax headers only for names too long for it) and returns the sha256 of its bytes,
 * which for a layer is the diff_id. Written beside `out` and renamed, so a crash never leaves half a tar.
 */
export async function writeTar(out: string, entries: TarEntry[], mtime: number): Promise<string> {
  const temp = `${out}.tmp-${process.pid}`;
  const stream = createWriteStream(temp);
  const hash = createHash("sha256");
  const put = async (chunk: Buffer) => {
    hash.update(chunk);
    if (!stream.write(chunk)) await once(stream, "drain");
  };
  try {
    for (const entry of entries) await putEntry(entry, mtime, put);
    // Two zero blocks end the archive.
    await put(Buffer.alloc(2 * BLOCK));
    stream.end();
    await once(stream, "close");
  } catch (err) {
    stream.destroy();
    await rm(temp, { force: true });
    throw err;
  }
  await rename(temp, out);
  return hash.digest("hex");
}

async function putEntry(
  entry: TarEntry,
  mtime: number,
  put: (chunk: Buffer) => Promise<void>,
): Promise<void> {
  const path = entry.type === "dir" ? `${entry.path.replace(/\/+$/, "")}/` : entry.path;
  const linkname = entry.type === "symlink" ? entry.target : "";
  const split = splitName(path);
  const pax =
    (split ? "" : paxRecord("path", path)) +
    (Buffer.byteLength(linkname) > 100 ? paxRecord("linkpath", linkname) : "");
  if (pax) {
    const body = Buffer.from(pax, "utf8");
    const paxName = `PaxHeaders/${path.replace(/\/$/, "").split("/").pop()}`.slice(0, 100);
    await put(
      header({
        name: paxName,
        mode: 0o644,
        uid: 0,
        gid: 0,
        size: body.length,
        mtime,
        type: TYPE.pax,
      }),
    );
    await put(body);
    await put(padding(body.length));
  }
  const size =
    entry.type !== "file"
      ? 0
      : "file" in entry.source
        ? entry.source.size
        : entry.source.content.length;
  await put(
    header({
      name: split?.name ?? path.slice(-100),
      prefix: split?.prefix,
      mode: entry.type === "symlink" ? 0o777 : entry.mode,
      uid: entry.uid,
      gid: entry.gid,
      size,
      mtime,
      type: TYPE[entry.type],
      linkname: linkname.slice(0, 100),
    }),
  );
  if (entry.type !== "file") return;
  if ("content" in entry.source) {
    await put(entry.source.content);
  } else {
    let copied = 0;
    for await (const chunk of createReadStream(entry.source.file)) {
      copied += (chunk as Buffer).length;
      await put(chunk as Buffer);
    }
    if (copied !== size) throw new Error(`${entry.source.file} changed size while being archived`);
  }
  await put(padding(size));
}

/** sha256 of a file, streamed. */
export async function sha256File(file: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}
