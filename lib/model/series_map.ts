/**
 * A map from series (metric name + labels) to a value, fast for the way parsers hand series
 * over: runs of lines share one frozen labels object, so most lookups are an identity check.
 *
 * @module
 */
import type { Labels } from "./sample.ts";

/**
 * Series → `T`, made by `create` on first sight. Lookups try, in order: the series of the
 * previous call (same frozen labels object and name), the frozen labels object's entry, then the
 * series' text. The map only grows: owners bound it with {@linkcode clear} at a point where
 * dropping every value is safe (between batches).
 */
export class SeriesMap<T> {
  #create: (name: string, labels: Labels) => T;
  #byText = new Map<string, T>();
  #byLabelsObject = new WeakMap<Labels, Map<string, T>>();
  #lastLabels: Labels | undefined;
  #lastName = "";
  #last: T | undefined;

  /** A map whose values `create` makes. */
  constructor(create: (name: string, labels: Labels) => T) {
    this.#create = create;
  }

  /** Series in the map. */
  get size(): number {
    return this.#byText.size;
  }

  /** The value of the series `name{labels}`, made on first sight. */
  get(name: string, labels: Labels): T {
    if (labels === this.#lastLabels && name === this.#lastName) return this.#last!;
    if (!Object.isFrozen(labels)) return this.#getByText(name, labels);
    let byName = this.#byLabelsObject.get(labels);
    let value = byName?.get(name);
    if (value === undefined) {
      value = this.#getByText(name, labels);
      if (!byName) this.#byLabelsObject.set(labels, byName = new Map());
      byName.set(name, value);
    }
    this.#lastLabels = labels;
    this.#lastName = name;
    this.#last = value;
    return value;
  }

  #getByText(name: string, labels: Labels): T {
    let text = name;
    for (const k in labels) text += "\xff" + k + "\xfe" + labels[k];
    let value = this.#byText.get(text);
    if (value === undefined) {
      value = this.#create(name, labels);
      this.#byText.set(text, value);
    }
    return value;
  }

  /** Forgets every series. */
  clear(): void {
    this.#byText.clear();
    this.#byLabelsObject = new WeakMap();
    this.#lastLabels = this.#last = undefined;
  }
}
