using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Shouldly;
using Tally.Redis;
using Tally.Testing;
using Xunit;

namespace Tally.Api.Tests;

/// <summary>The shared per-tenant limit, with permits taken from Redis in blocks, against a real Redis.</summary>
public class RateLimiterTests
{
    [Theory]
    [InlineData(1, 1)]
    [InlineData(199, 1)]
    [InlineData(1_000, 10)]
    [InlineData(50_000, 100)]
    public void blocks_are_a_hundredth_of_the_limit_between_1_and_100(long limit, long block) =>
        RateLimiter.BlockFor(limit).ShouldBe(block);

    [Fact]
    public async Task two_instances_together_never_pass_the_limit_and_leave_at_most_a_block_each_unused()
    {
        const int limit = 1_000;
        var options = Options.Create(new RedisOptions
        {
            ConnectionString = Environment.GetEnvironmentVariable("TALLY_TEST_REDIS")
                ?? throw new InvalidOperationException("TALLY_TEST_REDIS is not set: run the tests through deploy/local/test, which starts Redis."),
        });
        using var redisA = new RedisConnection(options, TestMeters.Factory, NullLogger<RedisConnection>.Instance);
        using var redisB = new RedisConnection(options, TestMeters.Factory, NullLogger<RedisConnection>.Instance);
        await Eventually.WaitFor(() => Task.FromResult(redisA.Database is not null && redisB.Database is not null), up => up,
            TimeSpan.FromSeconds(10), "both connections to Redis");
        var a = new RateLimiter(redisA);
        var b = new RateLimiter(redisB);

        // 1,500 requests split over the two instances inside one wall-clock second (tried again, with a fresh tenant,
        // if a second boundary falls inside the burst: it takes a few tens of milliseconds).
        for (var attempt = 0; ; attempt++)
        {
            var tenant = $"rl{Guid.NewGuid():N}"[..10];
            options.Value.TenantRequestsPerSecond[tenant] = limit;
            var second = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
            var passed = 0;
            var refused = 0;
            for (var i = 0; i < 1_500; i++)
            {
                if (await (i % 3 == 0 ? b : a).CheckAsync(tenant) is null) passed++;
                else refused++;
            }
            if (DateTimeOffset.UtcNow.ToUnixTimeSeconds() != second)
            {
                attempt.ShouldBeLessThan(10, "the burst never fit in one second");
                continue;
            }
            passed.ShouldBeLessThanOrEqualTo(limit);
            passed.ShouldBeGreaterThanOrEqualTo(limit - 2 * (int)RateLimiter.BlockFor(limit));
            refused.ShouldBe(1_500 - passed);
            break;
        }
    }
}
