using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Tally.Domain.Webhooks;
using Tally.Postgres.Webhooks;

namespace Tally.Grains.Webhooks;

/// <summary>
/// The HTTP client of deliveries, from <c>IHttpClientFactory</c>: no redirects followed (a 3xx is a failure, and a
/// redirect could lead to an address the URL was checked against), and a connection only to addresses the operator
/// allows: a host name that resolves to a private address at delivery time is refused there, not only at registration.
/// No resilience handler: the retry schedule is the contract's (5 s ... hourly, for 24 h), kept in PostgreSQL across
/// restarts, and every attempt must show in the deliveries log; an in-process retry would hide attempts and reorder
/// nothing useful.
/// </summary>
internal static class WebhookHttp
{
    public const string ClientName = "tally-webhooks";

    public static IServiceCollection AddWebhookHttp(this IServiceCollection services)
    {
        services.AddHttpClient(ClientName)
            .ConfigurePrimaryHttpMessageHandler(sp =>
            {
                var allowPrivate = sp.GetRequiredService<IOptions<WebhookOptions>>().Value.AllowPrivateTargets;
                return new SocketsHttpHandler
                {
                    AllowAutoRedirect = false,
                    PooledConnectionLifetime = TimeSpan.FromMinutes(2),
                    ConnectTimeout = TimeSpan.FromSeconds(5),
                    ConnectCallback = (context, ct) => ConnectAsync(context, allowPrivate, ct),
                };
            })
            // The delivery sets its own timeout per attempt.
            .ConfigureHttpClient(client => client.Timeout = Timeout.InfiniteTimeSpan);
        return services;
    }

    private static async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, bool allowPrivate, CancellationToken ct)
    {
        var host = context.DnsEndPoint.Host;
        var addresses = IPAddress.TryParse(host, out var literal) ? [literal] : await Dns.GetHostAddressesAsync(host, ct);
        var allowed = allowPrivate ? addresses : addresses.Where(a => !WebhookTarget.IsPrivate(a)).ToArray();
        if (allowed.Length == 0)
            throw new HttpRequestException($"'{host}' resolves to no address a webhook may reach (private, loopback or link-local are refused).");
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(allowed, context.DnsEndPoint.Port, ct);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
