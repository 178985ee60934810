export * from "./client";
export * from "./errors";
export * from "./operations";
export * from "./schemas";
export * from "./version";
