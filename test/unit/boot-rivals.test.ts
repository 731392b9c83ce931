import { describe, expect, it } from 'vitest';
import {
  describeBootRival,
  judgeBootRivals,
  parseListenPorts,
  parseShowBlocks,
} from '../../src/core/supervisor/boot-rivals.ts';

// Socket units that take a port at boot, judged from `systemctl show` text as systemd prints it.

const Show = `Id=shop.socket
Listen=127.0.0.1:8082 (Stream)
Listen=[::]:9000 (Datagram)
Triggers=shop.service
ActiveState=inactive
UnitFileState=enabled

Id=systemd-journald.socket
Listen=/run/systemd/journal/stdout (Stream)
Triggers=systemd-journald.service
ActiveState=active
UnitFileState=static

Id=legacy.socket
Listen=[::]:8081 (Stream)
Triggers=legacy.service
ActiveState=inactive
UnitFileState=disabled

Id=stopped.socket
Listen=8083 (Stream)
Triggers=stopped.service
ActiveState=inactive
UnitFileState=disabled
`;

describe('socket units on a target port', () => {
  it('reads the TCP ports of Listen= values, IPv4, IPv6 and a bare port; not datagrams or paths', () => {
    expect(parseListenPorts(['127.0.0.1:8082 (Stream)', '[::]:8081 (Stream)', '8083 (Stream)'])).toEqual([
      8082, 8081, 8083,
    ]);
    expect(parseListenPorts(['[::]:9000 (Datagram)', '/run/x.sock (Stream)', 'route 0 (Netlink)'])).toEqual([]);
  });

  it('an enabled socket, or one an enabled service starts, takes the port at boot; a disabled one does not', () => {
    const blocks = parseShowBlocks(Show);
    expect(blocks).toHaveLength(4);
    const rivals = judgeBootRivals(blocks, [8081, 8082, 8083], new Set(['legacy.service']));
    expect(rivals.map((r) => [r.unit, r.port, r.active, r.atBoot, r.fix])).toEqual([
      ['shop.socket', 8082, false, 'shop.socket is enabled', 'systemctl disable --now shop.socket'],
      [
        'legacy.socket',
        8081,
        false,
        'legacy.service is enabled and starts it',
        'systemctl disable --now legacy.socket legacy.service',
      ],
    ]);
    expect(describeBootRival(rivals[0]!)).toBe(
      'socket unit shop.socket takes port 8082 at boot (shop.socket is enabled): ' +
        'run "systemctl disable --now shop.socket"',
    );
  });

  it('a socket listening now is named even when nothing starts it at boot; another port is none of ours', () => {
    const active = parseShowBlocks(
      Show.replace('ActiveState=inactive\nUnitFileState=disabled\n', 'ActiveState=active\nUnitFileState=disabled\n'),
    );
    const rivals = judgeBootRivals(active, [8081], new Set());
    expect(rivals).toMatchObject([{ unit: 'legacy.socket', active: true, atBoot: '' }]);
    expect(describeBootRival(rivals[0]!)).toMatch(
      /listens on port 8081 now: run "systemctl disable --now legacy.socket"/,
    );
    expect(judgeBootRivals(parseShowBlocks(Show), [8080], new Set(['shop.service']))).toEqual([]);
  });
});
