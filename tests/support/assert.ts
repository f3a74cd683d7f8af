/**
 * Small assertion helpers (JSR's @std/assert is not reachable here).
 *
 * @module
 */
import { AssertionError, deepStrictEqual } from "node:assert";

export { AssertionError };

/** Asserts deep equality (strict, as node:assert's deepStrictEqual). */
export function assertEquals<T>(actual: T, expected: T, message?: string): void {
  deepStrictEqual(actual, expected, message);
}

/** Asserts a condition. */
export function assert(cond: unknown, message = "assertion failed"): asserts cond {
  if (!cond) throw new AssertionError({ message });
}

/** Asserts `text` matches `re`. */
export function assertMatch(text: string, re: RegExp, message?: string): void {
  if (!re.test(text)) {
    throw new AssertionError({
      message: message ?? `expected ${JSON.stringify(text)} to match ${re}`,
    });
  }
}

/** Asserts `fn` throws an instance of `ErrorClass`, and returns the error. */
export function assertThrows<E extends Error>(
  fn: () => unknown,
  // deno-lint-ignore no-explicit-any
  ErrorClass: new (...args: any[]) => E,
): E {
  try {
    fn();
  } catch (err) {
    if (err instanceof ErrorClass) return err;
    throw new AssertionError({ message: `expected ${ErrorClass.name}, got ${err}` });
  }
  throw new AssertionError({ message: `expected ${ErrorClass.name} to be thrown` });
}

/** Asserts the promise rejects with an instance of `ErrorClass`, and returns the error. */
export async function assertRejects<E extends Error>(
  fn: () => Promise<unknown>,
  // deno-lint-ignore no-explicit-any
  ErrorClass: new (...args: any[]) => E,
): Promise<E> {
  try {
    await fn();
  } catch (err) {
    if (err instanceof ErrorClass) return err;
    throw new AssertionError({ message: `expected ${ErrorClass.name}, got ${err}` });
  }
  throw new AssertionError({ message: `expected ${ErrorClass.name} to be thrown` });
}

/** Asserts `|actual - expected| <= tolerance`. */
export function assertAlmostEquals(
  actual: number,
  expected: number,
  tolerance: number,
  message?: string,
): void {
  if (!(Math.abs(actual - expected) <= tolerance)) {
    throw new AssertionError({
      message: message ?? `expected ${actual} to be within ${tolerance} of ${expected}`,
    });
  }
}

/** Whether a file or directory is at `path`. */
export async function pathExists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}
