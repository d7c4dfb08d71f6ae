using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using Tally.Api.Hosting;
using Tally.Api.Http;
using Tally.Postgres.Tenants;
using Tally.Redis;

namespace Tally.Api.Auth;

/// <summary>Resolves <c>Authorization: Bearer</c> keys to a caller, caching hits for a short while.</summary>
internal sealed class ApiKeyAuthenticator(TenantStore store, TenantConfigCache tenants, RateLimiter limiter, IOptions<ApiOptions> options, TimeProvider clock)
{
    private readonly ConcurrentDictionary<string, (Caller Caller, DateTimeOffset Until)> _cache = new(StringComparer.Ordinal);
    private readonly byte[] _adminKey = Encoding.UTF8.GetBytes(options.Value.AdminKey);

    /// <summary>
    /// For tenant-scoped endpoints: the key's tenant (never one named in the URL or body) if the key
    /// has <paramref name="role"/>; otherwise the 401, 403 or 429 to answer. Limits are per tenant and
    /// shared by every API instance.
    /// </summary>
    public async ValueTask<(LoadedTenant? Tenant, IResult? Error)> AuthorizeTenantAsync(HttpRequest request, string role, string doing, CancellationToken ct)
    {
        var (caller, error) = await AuthenticateAsync(request, ct);
        if (caller is null) return (null, error);
        if (!caller.Can(role))
            return (null, ApiError.Forbidden($"This key may not {doing} (needs role '{role}')."));
        var tenant = await tenants.GetAsync(caller.TenantId!, 0, ct);
        if (tenant is null) return (null, ApiError.Forbidden("The key's tenant no longer exists."));
        if (await limiter.CheckAsync(tenant.TenantId) is { } retryAfter)
        {
            request.HttpContext.Response.Headers.RetryAfter = retryAfter.ToString(System.Globalization.CultureInfo.InvariantCulture);
            return (null, ApiError.Status(429, "rate_limited", $"Tenant '{tenant.TenantId}' is over its request rate; retry after {retryAfter} s."));
        }
        return (tenant, null);
    }

    /// <summary>The caller, or a 401 result.</summary>
    public async ValueTask<(Caller? Caller, IResult? Error)> AuthenticateAsync(HttpRequest request, CancellationToken ct)
    {
        var header = request.Headers.Authorization.ToString();
        if (string.IsNullOrEmpty(header))
            return (null, ApiError.Unauthorized("Missing Authorization: Bearer <key> header."));
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) || header.Length <= 7)
            return (null, ApiError.Unauthorized("Authorization must be 'Bearer <key>'."));
        var key = header[7..].Trim();

        if (CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(key), _adminKey))
            return (Caller.ClusterAdmin, null);

        var now = clock.GetUtcNow();
        if (_cache.TryGetValue(key, out var hit) && hit.Until > now)
            return (hit.Caller, null);
        var grant = await store.FindKeyAsync(key, ct);
        if (grant is null)
            return (null, ApiError.Unauthorized("Unknown API key."));
        var caller = new Caller(false, grant.TenantId, grant.Role);
        _cache[key] = (caller, now.AddSeconds(options.Value.KeyCacheSeconds));
        return (caller, null);
    }
}
