// pubsub_libc.ts — libc's functions through bun:ffi, for what Bun does not offer: flock(2) for the history file's lock,
// execve(2) for the allocator's settings. Opened by whichever name this system's libc has; null where none works.
import { dlopen, suffix, type FFIFunction, type Library } from "bun:ffi";

const LIBC_NAMES = ["libc.so.6", `libc.${suffix}`, "libc.musl-x86_64.so.1", "libc.musl-aarch64.so.1"];

/** libc with `symbols` bound, or null when no libc here has them all. */
export function openLibc<S extends Record<string, FFIFunction>>(symbols: S): Library<S> | null {
  for (const name of LIBC_NAMES) {
    try {
      return dlopen(name, symbols);
    } catch {
      // not this name: try the next
    }
  }
  return null;
}
