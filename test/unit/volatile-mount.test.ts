import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkStateSurvivesReboot, findMountOf } from '../../src/core/supervisor/volatile-mount.ts';

// A stateDir a reboot empties, told from /proc/self/mountinfo as the kernel writes it.

const Mountinfo = [
  '26 1 254:0 / / rw,relatime - ext4 /dev/vda rw',
  '31 26 0:30 / /run rw,nosuid,nodev shared:5 - tmpfs tmpfs rw,size=800k,mode=755',
  '32 26 0:31 / /tmp rw,nosuid,nodev shared:6 - tmpfs tmpfs rw',
  '33 26 254:1 / /var/lib rw,relatime shared:7 - xfs /dev/nvme1n1 rw',
  '34 33 0:32 / /var/lib/fast rw - ramfs ramfs rw',
  '35 26 254:2 / /srv/with\\040space rw - ext4 /dev/vdb rw',
].join('\n');

describe('the mount that holds the state directory', () => {
  it('is the deepest mount point on its path, escapes read', () => {
    expect(findMountOf(Mountinfo, '/run/portproof')).toMatchObject({ mountPoint: '/run', fsType: 'tmpfs' });
    expect(findMountOf(Mountinfo, '/var/lib/portproof')).toMatchObject({ mountPoint: '/var/lib', fsType: 'xfs' });
    expect(findMountOf(Mountinfo, '/var/lib/fast/pp')).toMatchObject({ fsType: 'ramfs' });
    expect(findMountOf(Mountinfo, '/var/library')).toMatchObject({ mountPoint: '/', fsType: 'ext4' });
    expect(findMountOf(Mountinfo, '/srv/with space/pp')).toMatchObject({ fsType: 'ext4', source: '/dev/vdb' });
  });

  it('tmpfs (Amazon Linux 2023 /tmp, /run) and ramfs are refused, naming the mount; a disk is not', () => {
    expect(checkStateSurvivesReboot('/tmp/portproof', Mountinfo)).toBe(
      'stateDir: /tmp/portproof is on tmpfs (mounted at /tmp); a reboot empties it, and the unit that starts at ' +
        'boot runs from its release and env file there; set stateDir on a disk (the default /var/lib/portproof), ' +
        'or app.supervisor: direct',
    );
    expect(checkStateSurvivesReboot('/var/lib/fast/pp', Mountinfo)).toMatch(/on ramfs \(mounted at \/var\/lib\/fast\)/);
    expect(checkStateSurvivesReboot('/var/lib/portproof', Mountinfo)).toBeNull();
    expect(checkStateSurvivesReboot('/var/lib/portproof', null as unknown as string)).toBeNull();
  });

  it('on this machine: /dev/shm is a tmpfs, the test scratch is not', () => {
    const here = fs.readFileSync('/proc/self/mountinfo', 'utf8');
    expect(checkStateSurvivesReboot('/dev/shm/portproof', here)).toMatch(/is on tmpfs \(mounted at \/dev\/shm\)/);
  });
});
