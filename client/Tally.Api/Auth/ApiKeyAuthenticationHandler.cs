using System.Globalization;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using Tally.Api.Hosting;
using Tally.Api.Http;

namespace Tally.Api.Auth;

/// <summary>
/// <c>Authorization: Bearer &lt;key&gt;</c>: the operator's cluster admin key, or a tenant key resolved by
/// <see cref="ApiKeyResolver"/> to its tenant and role. A missing or unknown key is 401, a source that
/// keeps failing is 429, a key without the right is 403; each with the contract's error body.
/// </summary>
internal sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> schemeOptions,
    ILoggerFactory logger,
    UrlEncoder encoder,
    ApiKeyResolver resolver,
    IOptions<ApiOptions> apiOptions)
    : AuthenticationHandler<AuthenticationSchemeOptions>(schemeOptions, logger, encoder)
{
    private const string FailureItem = "tally.auth.failure";
    private const string RetryAfterItem = "tally.auth.retry_after";

    private readonly byte[] _adminKey = Encoding.UTF8.GetBytes(apiOptions.Value.AdminKey);

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var header = Request.Headers.Authorization.ToString();
        string key;
        if (string.IsNullOrEmpty(header))
        {
            // A browser's sendBeacon cannot set headers: collection takes the key in the query string, and only collection.
            if (!Request.Path.Equals(Endpoints.CollectApi.Path, StringComparison.Ordinal) || Request.Query["key"].ToString() is not { Length: > 0 } queryKey)
                return AuthenticateResult.NoResult();
            key = queryKey;
        }
        else
        {
            if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) || header.Length <= 7)
                return Fail("Authorization must be 'Bearer <key>'.");
            key = header[7..].Trim();
        }

        if (CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(key), _adminKey))
            return Success([new Claim(TallyClaims.Role, TallyClaims.ClusterAdmin)]);

        var source = Context.Connection.RemoteIpAddress?.ToString() ?? "unknown";
        var resolution = await resolver.ResolveAsync(key, source, Context.RequestAborted);
        switch (resolution.Outcome)
        {
            case KeyOutcome.Valid:
                var grant = resolution.Grant!;
                return Success([
                    new Claim(TallyClaims.TenantId, grant.TenantId),
                    new Claim(TallyClaims.Role, grant.Role),
                    new Claim(TallyClaims.KeyId, grant.KeyId),
                ]);
            case KeyOutcome.Blocked:
                Context.Items[RetryAfterItem] = resolution.RetryAfterSeconds;
                return Fail("Too many requests with unknown keys from this address; retry later.");
            default:
                return Fail("Unknown API key.");
        }
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        if (Context.Items[RetryAfterItem] is int retryAfter)
        {
            Response.Headers.RetryAfter = retryAfter.ToString(CultureInfo.InvariantCulture);
            await ApiError.WriteAsync(Context, 429, "auth_rate_limited", (string)Context.Items[FailureItem]!);
            return;
        }
        await ApiError.WriteAsync(Context, 401, "unauthorized",
            Context.Items[FailureItem] as string ?? "Missing Authorization: Bearer <key> header.");
    }

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties) =>
        ApiError.WriteAsync(Context, 403, "forbidden", Context.User.IsClusterAdmin()
            ? "The cluster admin key administers the cluster; use a tenant key for this."
            : $"This key (role '{Context.User.RoleOf()}') may not call {Request.Method} {Request.Path}.");

    private AuthenticateResult Fail(string message)
    {
        Context.Items[FailureItem] = message;
        return AuthenticateResult.Fail(message);
    }

    private AuthenticateResult Success(Claim[] claims)
    {
        var principal = new ClaimsPrincipal(new ClaimsIdentity(claims, Scheme.Name));
        return AuthenticateResult.Success(new AuthenticationTicket(principal, Scheme.Name));
    }
}
