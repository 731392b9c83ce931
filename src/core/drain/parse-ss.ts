// `ss -tinHO` (iproute2) as data: one established TCP socket a line, with the kernel's tcp_info for it. /proc/net/tcp
// has queues but no "last data sent/received", so it cannot tell a keep-alive from a request or a stream; tcp_info can.

/** One end of an established TCP connection, as `ss -tin` shows it. */
export interface TcpConnection {
  /** "127.0.0.1:8081", "[::1]:8081" as ss prints them. */
  local: string;
  peer: string;
  localPort: number;
  peerPort: number;
  /** Bytes received and not yet read by the application (Recv-Q). */
  recvQ: number;
  /** Bytes written and not yet acknowledged by the peer (Send-Q). */
  sendQ: number;
  /** Milliseconds since data was last sent / received (tcpi_last_data_sent / _recv). */
  lastSendMs: number;
  lastRecvMs: number;
  bytesSent: number;
  bytesReceived: number;
  /** Segments sent and not acknowledged yet. */
  unacked: number;
  /** Owners as `ss -p` names them (absent without -p, or when not readable). */
  owners: Array<{ name: string; pid: number }>;
}

/** Parse `ss -tinHO` text (with or without -p, -e or -O): one connection a line; other lines are skipped. */
export function parseSs(text: string): TcpConnection[] {
  const out: TcpConnection[] = [];
  // Without -O (an older ss), the details come on the next line, indented: join them to their connection.
  const lines = text.split('\n').reduce<string[]>((joined, line) => {
    if (/^\s/.test(line) && joined.length > 0) joined[joined.length - 1] += ` ${line.trim()}`;
    else joined.push(line);
    return joined;
  }, []);
  for (const line of lines) {
    const connection = parseSsLine(line);
    if (connection) out.push(connection);
  }
  return out;
}

/** One line of `ss -tinHO`; null for a line that is not a connection (an older ss's header, a blank line). */
export function parseSsLine(line: string): TcpConnection | null {
  // With -H and a state filter, the columns are Recv-Q, Send-Q, local, peer, then the details; with no state filter
  // (or an ss that prints it anyway) the state comes first.
  const fields = line.trim().split(/\s+/);
  if (fields[0] !== undefined && /^[A-Z-]+$/.test(fields[0])) fields.shift();
  const [recvQ, sendQ, local, peer] = fields;
  if (!recvQ || !sendQ || !local || !peer || !/^\d+$/.test(recvQ) || !/^\d+$/.test(sendQ)) return null;
  const localPort = readPort(local);
  const peerPort = readPort(peer);
  if (localPort === null || peerPort === null) return null;
  const rest = fields.slice(4).join(' ');
  const number = (key: string) => {
    const match = new RegExp(`(?:^|\\s)${key}:(\\d+)`).exec(rest);
    return match ? Number(match[1]) : 0;
  };
  const owners = [...rest.matchAll(/\("((?:[^"\\]|\\.)*)",pid=(\d+),fd=\d+\)/g)].map((m) => ({
    name: m[1]!,
    pid: Number(m[2]),
  }));
  return {
    local,
    peer,
    localPort,
    peerPort,
    recvQ: Number(recvQ),
    sendQ: Number(sendQ),
    lastSendMs: number('lastsnd'),
    lastRecvMs: number('lastrcv'),
    // Older iproute2 prints no bytes_sent: bytes_acked is what reached the peer, near enough.
    bytesSent: number('bytes_sent') || number('bytes_acked'),
    bytesReceived: number('bytes_received'),
    unacked: number('unacked'),
    owners,
  };
}

function readPort(address: string): number | null {
  const match = /:(\d+)$/.exec(address);
  if (!match) return null;
  const port = Number(match[1]);
  return port > 0 && port < 65536 ? port : null;
}
