namespace Tally.Api.Auth;

/// <summary>Who is calling: the cluster operator, or a key of one tenant with one role.</summary>
internal sealed record Caller(bool IsClusterAdmin, string? TenantId, string? Role)
{
    public static readonly Caller ClusterAdmin = new(true, null, "admin");

    public bool Can(string role) => !IsClusterAdmin && (Role == role || (role == "read" && Role == "admin"));

    public bool AdministersTenant(string tenantId) => IsClusterAdmin || (Role == "admin" && TenantId == tenantId);
}
