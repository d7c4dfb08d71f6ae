using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Shouldly;
using Tally.Redis;
using Tally.Testing;
using Xunit;

namespace Tally.Api.Tests;

/// <summary>With Redis unreachable the cache and the limiter step aside instead of failing requests.</summary>
public class RedisOutageTests
{
    private static RedisConnection Unreachable()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return new RedisConnection(Options.Create(new RedisOptions { ConnectionString = $"127.0.0.1:{port}", TimeoutMs = 200 }),
            TestMeters.Factory, NullLogger<RedisConnection>.Instance);
    }

    [Fact]
    public async Task without_redis_pages_are_uncached_limits_open_and_the_ping_reports_it()
    {
        using var redis = Unreachable();
        var key = PageCache.Key("t", 1, "b", null, 0, 100);
        (await new PageCache(redis).GetAsync(key)).ShouldBeNull();
        await new PageCache(redis).SetAsync(key, [1, 2, 3]);
        (await new RateLimiter(redis).CheckAsync("t")).ShouldBeNull();
        (await new BoardVersions(redis).ReadAsync("t", "b")).ShouldBeNull();
        (await new BoardVersions(redis).WriteAsync([new BoardVersion("t", "b", 0, "x.1")])).ShouldBeFalse();
        var ping = await redis.PingAsync();
        ping.Ok.ShouldBeFalse();
        ping.Error.ShouldNotBeNull();
    }
}
