/**
 * `deno bench` for the FLAC codec core on synthetic telemetry (no data files needed):
 * encode at levels 0, 5 and 8, whole-buffer decode, range decode and the streaming decoder.
 * For the comparison with libFLAC on real series see bench/flac_vs_libflac.ts.
 */
import {
  decodeFlac,
  decodeFlacRange,
  encodeFlac,
  encodeFlacWithIndex,
  FlacStreamDecoder,
} from "../lib/flac/mod.ts";
import { signal } from "../lib/flac/test_signals.ts";

const N = 1 << 18; // 262144 samples per channel
const power = signal("gpu_power", N, 24, 1);
const cpu = signal("cpu_percent", N, 24, 2);
const counter = signal("rapl_counter", N, 32, 3);
const mono24 = [power];
const stereo24 = [power, cpu];
const encoded = encodeFlacWithIndex(stereo24, { bitsPerSample: 24 });
const counterFlac = encodeFlac([counter], { bitsPerSample: 32 });

for (const level of [0, 5, 8]) {
  Deno.bench(
    `encode 24-bit mono GPU power, level ${level} (${N} samples)`,
    { group: "encode" },
    () => {
      encodeFlac(mono24, { bitsPerSample: 24, level });
    },
  );
}
Deno.bench(`encode 24-bit stereo power+cpu, level 5 (${N} samples/ch)`, { group: "encode" }, () => {
  encodeFlac(stereo24, { bitsPerSample: 24 });
});
Deno.bench(`encode 32-bit energy counter, level 5 (${N} samples)`, { group: "encode" }, () => {
  encodeFlac([counter], { bitsPerSample: 32 });
});
Deno.bench(`decode 24-bit stereo (${N} samples/ch)`, { group: "decode", baseline: true }, () => {
  decodeFlac(encoded.bytes);
});
Deno.bench(`decode 32-bit counter (${N} samples)`, { group: "decode" }, () => {
  decodeFlac(counterFlac);
});
Deno.bench("decode a 1000-sample range via the frame index", { group: "decode" }, () => {
  decodeFlacRange(encoded.bytes, {
    firstSample: 200000,
    lastSample: 200999,
    frames: encoded.frames,
  });
});
Deno.bench("streaming decode in 64 KiB chunks", { group: "decode" }, () => {
  const d = new FlacStreamDecoder();
  const b = encoded.bytes;
  for (let o = 0; o < b.length; o += 65536) d.push(b.subarray(o, o + 65536));
  d.end();
});
