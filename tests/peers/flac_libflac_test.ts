/**
 * The FLAC codec against the reference implementation (`flac` 1.4, libFLAC): every stream we
 * write passes `flac -t` and `flac -d` returns our samples; every stream `flac` writes (levels
 * -0 to -8, --lax with 32nd-order LPC and 65535-sample blocks, 8/16/24/32-bit input) decodes
 * with ours to the same samples and MD5. Files live in a temp dir; `flac` runs batched.
 */
import { assert, assertEquals } from "../support/assert.ts";
import {
  decodeFlac,
  decodeFlacRange,
  encodeFlac,
  type EncodeFlacOptions,
  encodeFlacWithIndex,
  samplesMd5,
} from "../../lib/flac/mod.ts";
import { crc16 } from "../../lib/flac/crc.ts";
import { parseFrameHeader, writeFrameHeader } from "../../lib/flac/frame_header.ts";
import { writeBlockHeader, writeStreamInfo } from "../../lib/flac/metadata.ts";
import { mixedSignal, oldVariableBlocksizeStream, signal } from "../../lib/flac/test_signals.ts";
import { peerBin, peerTest } from "../support/peers.ts";

async function flac(args: string[]): Promise<{ code: number; stderr: string }> {
  const o = await new Deno.Command(peerBin("flac"), { args, stdout: "null", stderr: "piped" })
    .output();
  return { code: o.code, stderr: new TextDecoder().decode(o.stderr) };
}

/** `flac` flags that decode to raw signed little-endian samples (`<file without .flac>.raw`). */
const RAW_DECODE = ["-d", "-s", "-f", "--force-raw-format", "--endian=little", "--sign=signed"];

/** `flac -d` of `file` to raw samples. */
function flacDecodeRaw(file: string): Promise<void> {
  return flacAll([[...RAW_DECODE, file]]);
}

/** Runs `flac` invocations two at a time (the CI box has 2 cores). */

async function flacAll(jobs: string[][]): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const args = jobs[next++];
      const r = await flac(args);
      if (r.code !== 0) throw new Error(`flac ${args.join(" ")} failed: ${r.stderr}`);
    }
  };
  await Promise.all([worker(), worker()]);
}

function interleave(channels: Int32Array[], bps: number): Uint8Array {
  const B = bps / 8;
  const n = channels[0].length;
  const out = new Uint8Array(n * channels.length * B);
  let p = 0;
  for (let i = 0; i < n; i++) {
    for (const c of channels) {
      for (let b = 0; b < B; b++) out[p++] = c[i] >> (8 * b);
    }
  }
  return out;
}

/** Reads interleaved little-endian signed PCM of `B` bytes per sample into channels. */
function deinterleave(
  bytes: Uint8Array,
  nch: number,
  B: number,
  offset = 0,
  length = bytes.length - offset,
): Int32Array[] {
  const n = length / (nch * B);
  const out = Array.from({ length: nch }, () => new Int32Array(n));
  let p = offset;
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < nch; c++) {
      let v = 0;
      for (let b = 0; b < B; b++) v += bytes[p++] * 2 ** (8 * b);
      if (B === 1) v = v >= 128 ? v - 256 : v;
      else if (v >= 2 ** (8 * B - 1)) v -= 2 ** (8 * B);
      out[c][i] = v;
    }
  }
  return out;
}

/** Samples of a WAV file written by `flac -d` (8-bit WAV is unsigned). */
function readWav(bytes: Uint8Array): { channels: Int32Array[]; containerBits: number } {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let p = 12, nch = 0, align = 0;
  while (p + 8 <= bytes.length) {
    const id = String.fromCharCode(...bytes.subarray(p, p + 4));
    const len = v.getUint32(p + 4, true);
    if (id === "fmt ") {
      nch = v.getUint16(p + 10, true);
      align = v.getUint16(p + 20, true);
    }
    if (id === "data") {
      const B = align / nch;
      const chans = deinterleave(bytes, nch, B, p + 8, len);
      if (B === 1) {
        for (const c of chans) {
          for (let i = 0; i < c.length; i++) c[i] = ((c[i] + 256) % 256) - 128;
        }
      }
      return { channels: chans, containerBits: 8 * B };
    }
    p += 8 + len + (len & 1);
  }
  throw new Error("no data chunk in WAV");
}

function sameSamples(got: Int32Array[], want: Int32Array[], what: string, shift = 0): void {
  assertEquals(got.length, want.length, `${what}: channels`);
  for (let c = 0; c < want.length; c++) {
    assertEquals(got[c].length, want[c].length, `${what}: length`);
    const m = 2 ** shift;
    for (let i = 0; i < want[c].length; i++) {
      if (got[c][i] !== want[c][i] * m) {
        throw new Error(
          `${what}: channel ${c} sample ${i}: got ${got[c][i]}, want ${want[c][i] * m}`,
        );
      }
    }
  }
}

/** Clamps `v` to the `bps`-bit signed range. */
function clamp(v: number, bps: number): number {
  return Math.max(-(2 ** (bps - 1)), Math.min(2 ** (bps - 1) - 1, v));
}

interface Case {
  name: string;
  channels: Int32Array[];
  options: EncodeFlacOptions;
}

function ourCases(): Case[] {
  const cases: Case[] = [];
  let k = 0;
  for (const bps of [4, 8, 12, 16, 20, 24, 31, 32]) {
    for (const nch of [1, 2, 8]) {
      const chans = Array.from(
        { length: nch },
        (_, c) => mixedSignal(nch === 8 ? 700 : 1500, bps, bps * 100 + c),
      );
      if (nch >= 2) {
        chans[1] = chans[1].map((v, i) => (i % 4 ? clamp(chans[0][i] - (i % 3), bps) : v));
      }
      cases.push({
        name: `b${bps}_c${nch}`,
        channels: chans,
        options: { bitsPerSample: bps, level: k++ % 9, sampleRate: 1000 },
      });
    }
  }
  const x16 = mixedSignal(1500, 16, 7);
  cases.push({
    name: "bs16",
    channels: [x16.subarray(0, 1000)],
    options: { bitsPerSample: 16, blockSize: 16 },
  });
  cases.push({
    name: "bs65535",
    channels: [x16, x16.map((v) => v >> 1)],
    options: { bitsPerSample: 16, blockSize: 65535, level: 8 },
  });
  cases.push({
    name: "bs4096_short_last",
    channels: [x16.subarray(0, 4096 * 2 + 77)],
    options: { bitsPerSample: 16, blockSize: 4096 },
  });
  cases.push({
    name: "bs1000_odd",
    channels: [signal("gpu_power", 9999, 24, 3)],
    options: { bitsPerSample: 24, blockSize: 1000, sampleRate: 0 },
  });
  cases.push({
    name: "metadata",
    channels: [signal("rapl_counter", 20000, 32, 4), signal("cpu_percent", 20000, 32, 5)],
    options: {
      bitsPerSample: 32,
      sampleRate: 1,
      seekPointInterval: 4096,
      comments: { WATTWAVE: "1", SERIES: 'gpu_power_watts{gpu="0"}' },
      applications: [{ id: "wwv1", data: new Uint8Array([1, 2, 3, 4]) }],
      padding: 64,
    },
  });
  return cases;
}

peerTest(
  ["flac"],
  "libflac: our streams pass `flac -t` and `flac -d` returns exactly our samples",
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "flac_ours_" });
    try {
      const cases = ourCases();
      for (const c of cases) {
        await Deno.writeFile(`${dir}/${c.name}.flac`, encodeFlac(c.channels, c.options));
      }
      const files = cases.map((c) => `${dir}/${c.name}.flac`);
      const t = await flac(["-t", "-s", ...files]);
      assertEquals(t.code, 0, `flac -t: ${t.stderr}`);
      const rawCases = cases.filter((c) => [8, 16, 24, 32].includes(c.options.bitsPerSample));
      const wavCases = cases.filter((c) => ![8, 16, 24, 32].includes(c.options.bitsPerSample));
      await flacAll([
        [...RAW_DECODE, ...rawCases.map((c) => `${dir}/${c.name}.flac`)],
        ["-d", "-s", "-f", ...wavCases.map((c) => `${dir}/${c.name}.flac`)],
      ]);
      for (const c of rawCases) {
        const raw = await Deno.readFile(`${dir}/${c.name}.raw`);
        sameSamples(
          deinterleave(raw, c.channels.length, c.options.bitsPerSample / 8),
          c.channels,
          c.name,
        );
      }
      for (const c of wavCases) {
        const wav = readWav(await Deno.readFile(`${dir}/${c.name}.wav`));
        // flac -d puts n-bit samples in the top bits of a whole-byte WAV container
        sameSamples(wav.channels, c.channels, c.name, wav.containerBits - c.options.bitsPerSample);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

peerTest(
  ["flac"],
  "libflac: we decode what `flac` -0…-8, --lax -l 32 -b 65535 write, 8 to 32 bits",
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "flac_ref_" });
    try {
      const inputs: { name: string; bps: number; channels: Int32Array[]; rate: number }[] = [
        {
          name: "s16",
          bps: 16,
          channels: [mixedSignal(3000, 16, 1), mixedSignal(3000, 16, 2)],
          rate: 48000,
        },
        { name: "m24", bps: 24, channels: [mixedSignal(3000, 24, 3)], rate: 1000 },
        {
          name: "s32",
          bps: 32,
          channels: [mixedSignal(2000, 32, 4), mixedSignal(2000, 32, 5)],
          rate: 1000,
        },
        { name: "m8", bps: 8, channels: [mixedSignal(2000, 8, 6)], rate: 8000 },
      ];
      // correlated stereo so libFLAC picks left/side, side/right and mid/side
      inputs[0].channels[1] = inputs[0].channels[1].map((
        v,
        i,
      ) => (i % 5 ? clamp(inputs[0].channels[0][i] + (v >> 10), 16) : v));
      inputs[2].channels[1] = inputs[2].channels[1].map((
        v,
        i,
      ) => (i % 5 ? inputs[2].channels[0][i] : v));
      const jobs: string[][] = [];
      const made: { file: string; input: (typeof inputs)[number] }[] = [];
      for (const inp of inputs) {
        const raw = `${dir}/${inp.name}.in`;
        await Deno.writeFile(raw, interleave(inp.channels, inp.bps));
        const base = [
          "-s",
          "-f",
          "--force-raw-format",
          "--endian=little",
          "--sign=signed",
          `--channels=${inp.channels.length}`,
          `--bps=${inp.bps}`,
          `--sample-rate=${inp.rate}`,
        ];
        const variants: [string, string[]][] = [];
        for (let l = 0; l <= 8; l++) variants.push([`l${l}`, [`-${l}`]]);
        if (inp.name === "s16" || inp.name === "m24") {
          variants.push(["lax", ["--lax", "-8", "-l", "32", "-b", "65535", "-r", "15"]]);
          variants.push(["exh", ["-8", "-e", "-p", "-b", "1152"]]);
        }
        for (const [tag, opts] of variants) {
          const file = `${dir}/${inp.name}_${tag}.flac`;
          jobs.push([...base, ...opts, "-o", file, raw]);
          made.push({ file, input: inp });
        }
      }
      await flacAll(jobs);
      await flacAll([[
        "-d",
        "-s",
        "-f",
        "--force-raw-format",
        "--endian=little",
        "--sign=signed",
        ...made.map((m) => m.file),
      ]]);
      for (const { file, input } of made) {
        const d = decodeFlac(await Deno.readFile(file));
        assert(d.md5Checked, `${file}: MD5 present and verified`);
        assertEquals(d.bitsPerSample, input.bps);
        assertEquals(d.sampleRate, input.rate);
        sameSamples(d.channels, input.channels, file);
        const ref = await Deno.readFile(file.replace(/\.flac$/, ".raw"));
        sameSamples(
          deinterleave(ref, input.channels.length, input.bps / 8),
          d.channels,
          `${file} vs flac -d`,
        );
        assertEquals(d.md5, d.metadata.streamInfo.md5);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

/**
 * A variable-block-size stream (frame headers carry sample numbers), built from frames our
 * encoder made at different block sizes: libFLAC does not write such streams, so we make one.
 */
function variableBlockStream(): { bytes: Uint8Array; channels: Int32Array[] } {
  const sizes = [100, 4096, 17, 1000, 4608, 256, 65535, 33];
  const parts: Uint8Array[] = [];
  const chans = [new Int32Array(0), new Int32Array(0)];
  let total = 0;
  for (const [i, size] of sizes.entries()) {
    const seg = [signal("gpu_power", size, 16, i), signal("cpu_percent", size, 16, i + 50)];
    const { bytes, frames } = encodeFlacWithIndex(seg, {
      bitsPerSample: 16,
      blockSize: size,
      sampleRate: 1000,
    });
    const f = frames[0];
    const old = bytes.subarray(f.byteOffset, f.byteOffset + f.byteLength);
    const h = parseFrameHeader(old, 0, old.length);
    if (!("header" in h)) throw new Error("bad header");
    const frame = new Uint8Array(old.length + 8);
    const hl = writeFrameHeader(frame, 0, {
      ...h.header,
      variable: true,
      number: total,
      sampleRate: 1000,
      bitsPerSample: 16,
    });
    frame.set(old.subarray(h.header.length, old.length - 2), hl);
    const end = hl + old.length - 2 - h.header.length;
    const crc = crc16(frame, 0, end);
    frame[end] = crc >> 8;
    frame[end + 1] = crc & 0xff;
    parts.push(frame.subarray(0, end + 2));
    for (let c = 0; c < 2; c++) {
      const grown = new Int32Array(total + size);
      grown.set(chans[c]);
      grown.set(seg[c], total);
      chans[c] = grown;
    }
    total += size;
  }
  const info = writeStreamInfo({
    minBlockSize: 17,
    maxBlockSize: 65535,
    minFrameSize: Math.min(...parts.map((p) => p.length)),
    maxFrameSize: Math.max(...parts.map((p) => p.length)),
    sampleRate: 1000,
    channels: 2,
    bitsPerSample: 16,
    totalSamples: total,
    md5: samplesMd5(chans, 16),
  });
  const all = [new TextEncoder().encode("fLaC"), writeBlockHeader(true, 0, 34), info, ...parts];
  const bytes = new Uint8Array(all.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of all) {
    bytes.set(p, o);
    o += p.length;
  }
  return { bytes, channels: chans };
}

peerTest(
  ["flac"],
  "libflac: variable block sizes: `flac -t` accepts the stream, we decode it and ranges of it",
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "flac_var_" });
    try {
      const { bytes, channels } = variableBlockStream();
      const file = `${dir}/var.flac`;
      await Deno.writeFile(file, bytes);
      const t = await flac(["-t", "-s", file]);
      assertEquals(t.code, 0, `flac -t: ${t.stderr}`);
      await flacDecodeRaw(file);
      const ref = deinterleave(await Deno.readFile(`${dir}/var.raw`), 2, 2);
      sameSamples(ref, channels, "flac -d");
      const d = decodeFlac(bytes);
      sameSamples(d.channels, channels, "ours");
      const r = decodeFlacRange(bytes, { firstSample: 5000, lastSample: 10100 });
      sameSamples(r.channels, channels.map((c) => c.subarray(5000, 10101)), "range");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

peerTest(
  ["flac"],
  "libflac: the old variable-blocksize convention (fixed bit, sample numbers): flac -d and we agree",
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "flac_oldvar_" });
    try {
      const sizes = [1000, 3000, 200, 4096, 704];
      const mono = mixedSignal(2000, 16, 7).subarray(0, 9000);
      const bytes = oldVariableBlocksizeStream(mono, sizes);
      const file = `${dir}/oldvar.flac`;
      await Deno.writeFile(file, bytes);
      await flacDecodeRaw(file);
      const ref = deinterleave(await Deno.readFile(`${dir}/oldvar.raw`), 1, 2);
      sameSamples(ref, [mono], "flac -d");
      sameSamples(decodeFlac(bytes).channels, [mono], "ours");
      const r = decodeFlacRange(bytes, { firstSample: 3999, lastSample: 4300 });
      sameSamples(r.channels, [mono.subarray(3999, 4301)], "range");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);
