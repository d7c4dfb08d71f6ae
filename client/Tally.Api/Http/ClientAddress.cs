using System.Net;
using System.Net.Sockets;
using Tally.Domain.Config;

namespace Tally.Api.Http;

/// <summary>
/// The client of a collected event (API.md, Raw event collection): the connection's address, or, when the connection
/// comes from one of the operator's trusted proxies, the nearest address in <c>X-Forwarded-For</c> that is not itself a
/// trusted proxy; then kept as the tenant's <c>collect.ip</c> says: <c>full</c>, <c>truncated</c> (IPv4 /24, IPv6 /48) or
/// <c>none</c>.
/// </summary>
internal static class ClientAddress
{
    public static IPAddress? Of(HttpContext context, IReadOnlyList<string> trustedProxies)
    {
        var remote = Normal(context.Connection.RemoteIpAddress);
        if (remote is null || trustedProxies.Count == 0 || !IsTrusted(remote, trustedProxies)) return remote;
        // Each proxy appends the address it took the request from: walk back from the nearest hop.
        var hops = context.Request.Headers["X-Forwarded-For"].ToString().Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        for (var i = hops.Length - 1; i >= 0; i--)
        {
            if (!IPAddress.TryParse(hops[i], out var hop)) return remote;
            hop = Normal(hop)!;
            if (!IsTrusted(hop, trustedProxies)) return hop;
        }
        return remote;
    }

    /// <summary>The address as the tenant's policy keeps it; null for <c>none</c>.</summary>
    public static string? Kept(IPAddress? address, string policy)
    {
        if (address is null || policy == CollectConfig.IpNone) return null;
        if (policy == CollectConfig.IpFull) return address.ToString();
        var bytes = address.GetAddressBytes();
        var keep = address.AddressFamily == AddressFamily.InterNetwork ? 3 : 6; // /24 or /48
        for (var i = keep; i < bytes.Length; i++) bytes[i] = 0;
        return new IPAddress(bytes).ToString();
    }

    private static IPAddress? Normal(IPAddress? address) => address is { IsIPv4MappedToIPv6: true } ? address.MapToIPv4() : address;

    private static bool IsTrusted(IPAddress address, IReadOnlyList<string> trustedProxies)
    {
        foreach (var proxy in trustedProxies)
        {
            if (IPNetwork.TryParse(proxy, out var network) && network.Contains(address)) return true;
            if (IPAddress.TryParse(proxy, out var single) && single.Equals(address)) return true;
        }
        return false;
    }
}
