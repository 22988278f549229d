use std::net::IpAddr;

use actix_web::HttpRequest;
use ipnet::IpNet;

/// The customer's address: the peer, or, when the peer is one of our trusted proxies, the right-most address in
/// `X-Forwarded-For` that is not itself a trusted proxy. Anything a client writes to the left is ignored, so a
/// client cannot choose its own rate-limit bucket.
pub fn client_ip(req: &HttpRequest, trusted_proxies: &[IpNet]) -> Option<IpAddr> {
    let peer = req.peer_addr()?.ip();
    let forwarded: Vec<&str> = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|value| value.to_str().ok())
        .collect();
    Some(resolve_client_ip(
        peer,
        &forwarded.join(","),
        trusted_proxies,
    ))
}

pub fn resolve_client_ip(peer: IpAddr, forwarded_for: &str, trusted_proxies: &[IpNet]) -> IpAddr {
    let trusted = |ip: &IpAddr| trusted_proxies.iter().any(|net| net.contains(ip));
    if !trusted(&peer) {
        return peer;
    }
    let mut client = peer;
    for hop in forwarded_for
        .rsplit(',')
        .map(str::trim)
        .filter(|h| !h.is_empty())
    {
        match hop.parse::<IpAddr>() {
            Ok(ip) => {
                client = ip;
                if !trusted(&ip) {
                    break;
                }
            }
            // A garbled hop: stop at the last address we could believe.
            Err(_) => break,
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn forwarded_for_is_ignored_from_untrusted_peers() {
        let trusted = vec!["10.0.0.0/8".parse().unwrap()];
        assert_eq!(
            resolve_client_ip(ip("203.0.113.9"), "1.2.3.4", &trusted),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn trusted_proxy_chains_resolve_to_the_first_untrusted_hop_from_the_right() {
        let trusted = vec!["10.0.0.0/8".parse().unwrap()];
        let chain = "6.6.6.6, 198.51.100.7, 10.1.1.1";
        assert_eq!(
            resolve_client_ip(ip("10.0.0.2"), chain, &trusted),
            ip("198.51.100.7")
        );
        assert_eq!(
            resolve_client_ip(ip("10.0.0.2"), "", &trusted),
            ip("10.0.0.2")
        );
        assert_eq!(
            resolve_client_ip(ip("10.0.0.2"), "junk, 10.3.3.3", &trusted),
            ip("10.3.3.3")
        );
    }
}
