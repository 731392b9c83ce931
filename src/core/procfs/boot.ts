import fs from 'node:fs';
import path from 'node:path';
import { malformedProcError } from './proc-errors.ts';

/** The procfs root every reader defaults to; tests pass a fake tree instead. */
export const DefaultProcRoot = '/proc';
/** USER_HZ: 100 on Linux for x64 and arm64 alike, whatever the kernel's internal HZ. */
export const DefaultClockTicks = 100;

const bootIds = new Map<string, string>();
const bootTimes = new Map<string, number>();

/** This boot's id: a PID and start time only name a process within one boot. */
export function readBootId(procRoot = DefaultProcRoot): string {
  let id = bootIds.get(procRoot);
  if (id === undefined) {
    id = fs.readFileSync(path.join(procRoot, 'sys/kernel/random/boot_id'), 'utf8').trim();
    bootIds.set(procRoot, id);
  }
  return id;
}

/** Boot time in ms since the epoch (btime in /proc/stat), to turn start ticks into a wall-clock time. */
export function readBootTimeMs(procRoot = DefaultProcRoot): number {
  let ms = bootTimes.get(procRoot);
  if (ms === undefined) {
    const match = /^btime\s+(\d+)/m.exec(fs.readFileSync(path.join(procRoot, 'stat'), 'utf8'));
    if (!match) throw malformedProcError(`${path.join(procRoot, 'stat')}: no btime line`);
    ms = Number(match[1]) * 1000;
    bootTimes.set(procRoot, ms);
  }
  return ms;
}
