using System.Threading.RateLimiting;
using Tally.Api.Auth;
using Tally.Redis;

namespace Tally.Api.Http;

/// <summary>
/// The rate-limiting middleware's limiter: each tenant's requests per second, counted in Redis so every
/// API instance shares one limit (<see cref="RateLimiter"/> in Tally.Redis). Requests without a tenant
/// key (health, metrics, the cluster admin) are not limited. Fails open: without Redis nothing is refused.
/// </summary>
internal static class SharedTenantRateLimiter
{
    public static PartitionedRateLimiter<HttpContext> Create(Tally.Redis.RateLimiter shared) =>
        PartitionedRateLimiter.Create<HttpContext, string>(context => context.User.TenantOf() is { } tenant
            ? RateLimitPartition.Get(tenant, t => new TenantLimiter(t, shared))
            : RateLimitPartition.GetNoLimiter(""));

    private sealed class TenantLimiter(string tenant, Tally.Redis.RateLimiter shared) : System.Threading.RateLimiting.RateLimiter
    {
        public override TimeSpan? IdleDuration => null;

        public override RateLimiterStatistics? GetStatistics() => null;

        // The count lives in Redis, so there is no synchronous answer: the middleware then asks asynchronously.
        protected override RateLimitLease AttemptAcquireCore(int permitCount) => Lease.NotYet;

        protected override async ValueTask<RateLimitLease> AcquireAsyncCore(int permitCount, CancellationToken ct) =>
            await shared.CheckAsync(tenant) is { } retryAfter ? new Lease(false, retryAfter) : Lease.Granted;
    }

    private sealed class Lease(bool acquired, int retryAfterSeconds = 0) : RateLimitLease
    {
        public static readonly Lease Granted = new(true);
        public static readonly Lease NotYet = new(false);

        public override bool IsAcquired => acquired;

        public override IEnumerable<string> MetadataNames => acquired ? [] : [MetadataName.RetryAfter.Name];

        public override bool TryGetMetadata(string metadataName, out object? metadata)
        {
            metadata = !acquired && metadataName == MetadataName.RetryAfter.Name ? TimeSpan.FromSeconds(retryAfterSeconds) : null;
            return metadata is not null;
        }
    }
}
