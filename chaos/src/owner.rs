//! Which broker opened a connection to a proxy. Every broker connects from 127.0.0.1, so the
//! source address says nothing; the kernel's socket tables do: the connecting socket's inode
//! (from `/proc/net/tcp` and `/proc/net/tcp6`) is held open by exactly one process, found
//! among the brokers' recorded pids in `/proc/PID/fd`. Linux only, like the rest of the
//! local runtime.

use std::path::Path;

/// The node index whose process owns the socket `127.0.0.1:peer_port` connected to
/// `127.0.0.1:proxy_port`, among `nodes` (`(node index, pid)`).
pub fn connecting_node(peer_port: u16, proxy_port: u16, nodes: &[(usize, i32)]) -> Option<usize> {
    let inode = ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .filter_map(|table| std::fs::read_to_string(table).ok())
        .find_map(|table| socket_inode(&table, peer_port, proxy_port))?;
    let wanted = format!("socket:[{inode}]");
    nodes
        .iter()
        .find(|(_, pid)| holds(Path::new(&format!("/proc/{pid}/fd")), &wanted))
        .map(|(node, _)| *node)
}

/// The inode of the socket whose local port is `local_port` and remote port `remote_port`
/// in a `/proc/net/tcp`-style table.
fn socket_inode(table: &str, local_port: u16, remote_port: u16) -> Option<u64> {
    table.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (local, remote, inode) = (fields.get(1)?, fields.get(2)?, fields.get(9)?);
        (port_of(local)? == local_port && port_of(remote)? == remote_port)
            .then(|| inode.parse().ok())
            .flatten()
            .filter(|inode| *inode != 0)
    })
}

/// The port of an `ADDRESS:PORT` entry, both in hex.
fn port_of(entry: &str) -> Option<u16> {
    let (_, port) = entry.rsplit_once(':')?;
    u16::from_str_radix(port, 16).ok()
}

fn holds(fd_dir: &Path, wanted: &str) -> bool {
    let Ok(entries) = std::fs::read_dir(fd_dir) else {
        return false;
    };
    entries
        .flatten()
        .filter_map(|entry| std::fs::read_link(entry.path()).ok())
        .any(|target| target.as_os_str() == wanted)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &str = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:4A9D 0100007F:4A38 01 00000000:00000000 00:00000000 00000000     0        0 123456 1 0000000000000000 20 4 30 10 -1
   1: 0100007F:4A38 0100007F:4A9D 01 00000000:00000000 00:00000000 00000000     0        0 654321 1 0000000000000000 20 4 30 10 -1
";

    #[test]
    fn finds_the_connecting_socket_by_its_ports() {
        assert_eq!(socket_inode(TABLE, 0x4A9D, 0x4A38), Some(123_456));
        assert_eq!(socket_inode(TABLE, 0x4A38, 0x4A9D), Some(654_321));
        assert_eq!(socket_inode(TABLE, 1, 2), None);
    }

    #[test]
    fn finds_this_process_as_the_owner_of_its_own_connection() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let proxy_port = listener.local_addr().unwrap().port();
        let client = std::net::TcpStream::connect(("127.0.0.1", proxy_port)).unwrap();
        let peer_port = client.local_addr().unwrap().port();
        let me = std::process::id() as i32;
        assert_eq!(
            connecting_node(peer_port, proxy_port, &[(4, 1), (7, me)]),
            Some(7)
        );
        assert_eq!(connecting_node(peer_port, proxy_port, &[(4, 1)]), None);
    }
}
