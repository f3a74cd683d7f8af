/**
 * Reading NDJSON into {@linkcode SampleColumns}, parsed on worker threads once the input proves
 * large: the calling thread splits lines and hands batches out; answers are consumed in input
 * order, so the result is the same as parsing on one thread.
 *
 * @module
 */
import { InputError } from "../errors.ts";
import { ColumnParser, parseJob, type SampleColumns } from "./columns.ts";
import type { ParseJob, ParseSetup } from "./parse_worker.ts";
import { defaultParseWorkers } from "../workers/counts.ts";
import { WORKER_MODULES } from "../workers/modules.ts";
import { WorkerPool } from "../workers/pool.ts";
import type { NdjsonSource, ReadStats } from "./reader.ts";

const LF = 10;
const CR = 13;

/** Options of {@linkcode readNdjsonColumns}. */
export interface ReadColumnsOptions {
  /** Stop at the first bad line (throw {@linkcode InputError}) instead of skipping it. Default false. */
  strict?: boolean;
  /** Called for each skipped bad line with `source:line: reason`. Default: write it to stderr. */
  onBadLine?: (message: string) => void;
  /** Parse workers; 0 parses on the calling thread. Default {@linkcode defaultParseWorkers}. */
  workers?: number;
  /** Input bytes read on the calling thread before the workers start. Default 8 MiB. */
  workersAfterBytes?: number;
  /** Ends reading (even while a read is pending); what was read is still consumed. */
  signal?: AbortSignal;
  /** Largest job handed to a worker while the workers are busy, bytes. Default 1 MiB. */
  jobBytes?: number;
  /** Longest line kept, in bytes; a longer one is reported by its length only. Default 1 MiB. */
  maxLineBytes?: number;
}

/** Workers parsing jobs of whole lines; each worker numbers its own series. */
function startParsePool(
  workers: number,
  strict: boolean,
  here: ColumnParser,
): WorkerPool<ParseJob, SampleColumns> {
  return new WorkerPool<ParseJob, SampleColumns>({
    url: WORKER_MODULES.parse,
    workers,
    name: "parse",
    init: (index): ParseSetup => ({ parser: index + 1, strict }),
    // Once no worker is left, jobs are parsed here, in job (input) order, by the calling
    // thread's parser: it parsed the jobs before the pool started, so its series ids stay apart.
    runHere: (job) => Promise.resolve(parseJob(here, job.bytes, job)),
    // Each job's bytes are a fresh copy: handed over, not copied again (measured with
    // bench/push_vm.ts: copying cost ~30 MiB of peak RSS). A job whose worker dies therefore
    // fails the read with that worker's error; queued jobs still go to the others.
    transfer: (job) => [job.bytes.buffer as ArrayBuffer],
  });
}

/**
 * Reads the sources one after the other and hands their samples to `consume`, batch by batch,
 * in input order; `consume` may return a promise to slow the reading down. Bad lines are
 * reported as {@linkcode readNdjson} does, and `stats` counts the same things. The input is cut
 * into jobs of whole lines: each read's lines at once while the parsers keep up, up to
 * `jobBytes` while they are busy. Memory is bounded by the jobs in flight (a few per worker).
 */
export async function readNdjsonColumns(
  sources: NdjsonSource[],
  stats: ReadStats,
  consume: (columns: SampleColumns) => Promise<void> | void,
  options: ReadColumnsOptions = {},
): Promise<void> {
  const onBadLine = options.onBadLine ?? ((m: string) => console.error(`wattwave: bad line ${m}`));
  const strict = options.strict ?? false;
  const workers = options.workers ?? defaultParseWorkers();
  const workersAfterBytes = options.workersAfterBytes ?? 8 << 20;
  const jobBytes = options.jobBytes ?? 1 << 20;
  const maxLineBytes = options.maxLineBytes ?? 1 << 20;
  const here = new ColumnParser(0, { strict });
  let pool: WorkerPool<ParseJob, SampleColumns> | undefined;
  const maxInFlight = 2 * Math.max(1, workers) + 1;
  const queue: { source: number; columns: Promise<SampleColumns> }[] = [];
  let readDone = false;
  let readError: unknown;
  let stopped = false;
  let wakeConsumer: (() => void) | undefined;
  let wakeReader: (() => void) | undefined;
  let wakeStop: ((v: "stop") => void) | undefined;
  const stop = () => {
    stopped = true;
    wakeStop?.("stop");
    wakeReader?.();
  };
  options.signal?.addEventListener("abort", stop, { once: true });

  const read = async () => {
    let bytesRead = 0;
    for (const [sourceIndex, source] of sources.entries()) {
      const chunks = source.stream[Symbol.asyncIterator]();
      let job = new Uint8Array(64 * 1024);
      let jobLen = 0;
      let streamStart = true;
      let oversizedBefore = -1; // an oversized line waiting to be reported before the next job
      let skipping = 0; // bytes of an oversized line dropped so far (0: not in one)
      let lineFrom = 0; // where the unfinished line starts in job
      /** Hands `job[0, end)` (whole lines) to a parser and keeps the rest. */
      const dispatch = async (end: number) => {
        const columns = pool
          ? pool.run({ bytes: job.slice(0, end), oversizedBefore, streamStart })
          : Promise.resolve(parseJob(here, job.subarray(0, end), { oversizedBefore, streamStart }));
        job.copyWithin(0, end, jobLen);
        const rest = jobLen - end;
        jobLen = rest;
        lineFrom -= end;
        streamStart = false;
        oversizedBefore = -1;
        columns.catch(() => {}); // a rejection is seen when the consumer reaches it
        queue.push({ source: sourceIndex, columns });
        wakeConsumer?.();
        while (queue.length >= maxInFlight && !stopped) {
          await new Promise<void>((r) => wakeReader = r);
          wakeReader = undefined;
        }
      };
      while (!stopped) {
        // Each read gets its own stop promise: one long-lived promise raced against every
        // read would keep every chunk reachable from its reactions.
        const pending = chunks.next();
        const next = await new Promise<"stop" | IteratorResult<Uint8Array>>((resolve, reject) => {
          wakeStop = resolve;
          pending.then(resolve, reject);
        });
        wakeStop = undefined;
        if (next === "stop") break;
        if (next.done) {
          if (skipping > 0) {
            oversizedBefore = skipping;
            skipping = 0;
            await dispatch(0);
          } else if (jobLen > 0) await dispatch(jobLen);
          break;
        }
        let chunk = next.value;
        bytesRead += chunk.length;
        if (pool === undefined && workers > 0 && bytesRead >= workersAfterBytes) {
          pool = startParsePool(workers, strict, here);
        }
        if (skipping > 0) {
          const nl = chunk.indexOf(LF);
          if (nl < 0) {
            skipping += chunk.length;
            continue;
          }
          oversizedBefore = skipping + nl - (nl > 0 && chunk[nl - 1] === CR ? 1 : 0);
          skipping = 0;
          chunk = chunk.subarray(nl + 1);
        } else if (jobLen > lineFrom) { // an unfinished line goes on: is it too long?
          const nl = chunk.indexOf(LF);
          if (nl >= 0 && jobLen - lineFrom + nl > maxLineBytes) {
            const oversized = jobLen - lineFrom + nl - (nl > 0 && chunk[nl - 1] === CR ? 1 : 0);
            jobLen = lineFrom;
            if (jobLen > 0 || oversizedBefore >= 0) await dispatch(jobLen);
            oversizedBefore = oversized;
            chunk = chunk.subarray(nl + 1);
          }
        }
        if (jobLen + chunk.length > job.length) {
          const grown = new Uint8Array(Math.max(job.length * 2, jobLen + chunk.length));
          grown.set(job.subarray(0, jobLen));
          job = grown;
        }
        job.set(chunk, jobLen);
        jobLen += chunk.length;
        const lastNl = chunk.lastIndexOf(LF); // the unfinished line before it has no newline
        const tailFrom = lastNl < 0 ? lineFrom : jobLen - chunk.length + lastNl + 1;
        if (jobLen - tailFrom > maxLineBytes) { // the unfinished line is oversized: drop it
          skipping = jobLen - tailFrom;
          jobLen = lineFrom = tailFrom;
          if (jobLen > 0 || oversizedBefore >= 0) await dispatch(jobLen);
          continue;
        }
        lineFrom = tailFrom;
        // While the parsers keep up, each read's lines go at once; while they are busy, jobs
        // grow to jobBytes (fewer, larger messages).
        if (tailFrom > 0 && (pool === undefined || pool.idle || tailFrom >= jobBytes)) {
          await dispatch(tailFrom);
        }
      }
    }
  };

  const reading = read().catch((err) => readError = err).finally(() => {
    readDone = true;
    wakeConsumer?.();
  });
  try {
    let lineNo = 1;
    let sourceIndex = 0;
    while (true) {
      while (queue.length === 0 && !readDone) {
        await new Promise<void>((r) => wakeConsumer = r);
        wakeConsumer = undefined;
      }
      const head = queue[0];
      if (head === undefined) break;
      const cols = await head.columns;
      queue.shift();
      wakeReader?.();
      if (head.source !== sourceIndex) [sourceIndex, lineNo] = [head.source, 1];
      const source = sources[sourceIndex].name;
      stats.lines += cols.lines;
      stats.bytes += cols.bytes;
      for (const bad of cols.badLines) {
        stats.badLines++;
        onBadLine(`${source}:${lineNo + bad.line}: ${bad.message}`);
      }
      if (cols.count > 0 || cols.metadata.length > 0 || cols.others.length > 0) await consume(cols);
      if (cols.strictError) {
        throw new InputError(`bad NDJSON line: ${cols.strictError.message}`, {
          where: `${source}:${lineNo + cols.strictError.line}`,
        });
      }
      lineNo += cols.lineCount;
    }
    if (readError !== undefined) throw readError;
  } finally {
    stop();
    pool?.close();
    options.signal?.removeEventListener("abort", stop);
    await reading;
  }
}
