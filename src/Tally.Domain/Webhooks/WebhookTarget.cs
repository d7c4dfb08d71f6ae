using System.Net;
using System.Net.Sockets;

namespace Tally.Domain.Webhooks;

/// <summary>
/// Where a webhook may deliver: an absolute http or https URL, and (unless the operator allows it) never an address a
/// request from inside the cluster should not reach: loopback, private networks, link-local (cloud metadata),
/// carrier-grade NAT, unspecified or multicast addresses, IPv4-mapped IPv6 forms of them included.
/// </summary>
public static class WebhookTarget
{
    public const int MaxUrlLength = 2048;

    /// <summary>The URL as a delivery target, or the reason it cannot be one.</summary>
    public static (Uri? Url, string? Error) ParseUrl(string text)
    {
        if (text.Length is 0 or > MaxUrlLength) return (null, $"url must be 1 to {MaxUrlLength} characters.");
        if (!Uri.TryCreate(text, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https") || string.IsNullOrEmpty(url.Host))
            return (null, "url must be an absolute http or https URL.");
        if (!string.IsNullOrEmpty(url.UserInfo)) return (null, "url must not carry credentials (user:password@).");
        return (url, null);
    }

    /// <summary>Whether an address is one a webhook must not reach without the operator's leave.</summary>
    public static bool IsPrivate(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        if (IPAddress.IsLoopback(address)) return true;
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            var b = address.GetAddressBytes();
            return b[0] == 0 || b[0] == 10 || b[0] == 127
                || (b[0] == 172 && b[1] >= 16 && b[1] <= 31)
                || (b[0] == 192 && b[1] == 168)
                || (b[0] == 169 && b[1] == 254)
                || (b[0] == 100 && b[1] >= 64 && b[1] <= 127)
                || b[0] >= 224;
        }
        if (address.AddressFamily == AddressFamily.InterNetworkV6)
        {
            var b = address.GetAddressBytes();
            return address.Equals(IPAddress.IPv6None) || address.Equals(IPAddress.IPv6Any)
                || address.IsIPv6LinkLocal || address.IsIPv6SiteLocal || address.IsIPv6Multicast
                || (b[0] & 0xFE) == 0xFC; // fc00::/7, unique local
        }
        return true;
    }
}
