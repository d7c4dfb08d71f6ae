using System.Security.Claims;

namespace Tally.Api.Auth;

/// <summary>The claims an API key carries, and what callers may read from a principal.</summary>
public static class TallyClaims
{
    public const string Scheme = "ApiKey";
    public const string TenantId = "tally:tenant";
    public const string Role = "tally:role";
    public const string KeyId = "tally:key_id";

    /// <summary>The role of the operator's cluster admin key (it belongs to no tenant).</summary>
    public const string ClusterAdmin = "cluster_admin";

    public static string? TenantOf(this ClaimsPrincipal user) => user.FindFirstValue(TenantId);

    public static string? RoleOf(this ClaimsPrincipal user) => user.FindFirstValue(Role);

    public static bool IsClusterAdmin(this ClaimsPrincipal user) => user.RoleOf() == ClusterAdmin;
}
