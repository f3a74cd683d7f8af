/**
 * The queries of a ReadRequest, checked and compiled, and the series each one selects.
 *
 * @module
 */
import { compareLabelPairs } from "../../model/labels.ts";
import {
  type CompiledMatcher,
  compileMatchers,
  matchesAllPairs,
  SelectorSyntaxError,
} from "../../query/selector.ts";
import type { DecodedReadRequest } from "../codec/read_request.ts";
import { HttpRefusal } from "../http.ts";
import type { ReadableSeriesStore, StoredSeries } from "./series_store.ts";

/** One query of a request, ready to run. */
export interface PreparedQuery {
  /** Inclusive start, ms. */
  startMs: number;
  /** Inclusive end, ms. */
  endMs: number;
  /** The label matchers, compiled. */
  matchers: CompiledMatcher[];
}

/** Compiles the queries of `request`; a query without matchers or with a bad regexp is a 400. */
export function prepareQueries(request: DecodedReadRequest): PreparedQuery[] {
  return request.queries.map((q, i) => {
    if (q.matchers.length === 0) throw new HttpRefusal(400, `query ${i} has no label matchers`);
    let matchers: CompiledMatcher[];
    try {
      matchers = compileMatchers(q.matchers);
    } catch (err) {
      if (err instanceof SelectorSyntaxError) {
        throw new HttpRefusal(400, `query ${i}: ${err.message}`);
      }
      throw err;
    }
    return { startMs: q.startMs, endMs: q.endMs, matchers };
  });
}

/** The series of a query, sorted by labels, that have samples somewhere in its time range. */
export function selectSeries(store: ReadableSeriesStore, q: PreparedQuery): StoredSeries[] {
  if (q.startMs > q.endMs) return [];
  const found = store.series((labels) => matchesAllPairs(q.matchers, labels))
    .filter((s) => s.maxTs >= q.startMs && s.minTs <= q.endMs);
  return found.sort((a, b) => compareLabelPairs(a.labels, b.labels));
}

/** The 422 for a request whose queries together select more than `limit` samples. */
export function tooManyRequestSamples(limit: number): HttpRefusal {
  return new HttpRefusal(
    422,
    `the request's queries together select more than ${limit} samples ` +
      "(--max-samples-per-request); send fewer queries or narrow them",
  );
}

/**
 * How many samples a query may still return: the per-query limit, or what is left of the
 * request's when that is smaller, with the refusal that names the limit that binds.
 */
export function queryLimit(
  queryIndex: number,
  perQuery: number,
  requestLeft: number,
): { samples: number; refusal: () => HttpRefusal } {
  return requestLeft < perQuery
    ? { samples: requestLeft, refusal: () => tooManyRequestSamples(requestLeft) }
    : { samples: perQuery, refusal: () => tooManySamples(queryIndex, perQuery) };
}

/** The 422 for a query that selects more than `limit` samples. */
export function tooManySamples(queryIndex: number, limit: number): HttpRefusal {
  return new HttpRefusal(
    422,
    `query ${queryIndex} selects more than ${limit} samples (--max-samples-per-query); ` +
      "narrow the time range or the matchers",
  );
}
