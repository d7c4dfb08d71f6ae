using Microsoft.AspNetCore.Authorization;

namespace Tally.Api.Auth;

/// <summary>
/// Who may call what. Every endpoint names one of these policies or allows anonymous access; anything
/// else is refused by the fallback policy (deny by default), so a new endpoint cannot be open by accident.
/// </summary>
public static class TallyPolicies
{
    /// <summary>A tenant key with role <c>ingest</c>.</summary>
    public const string Ingest = "ingest";

    /// <summary>A tenant key with role <c>read</c> or <c>admin</c>.</summary>
    public const string Read = "read";

    /// <summary><c>POST /v1/collect</c>: an <c>ingest</c> key, or a <c>collect</c> key (which may call nothing else).</summary>
    public const string Collect = "collect";

    /// <summary>A tenant key with role <c>admin</c>: the tenant's own administration (users, ...).</summary>
    public const string TenantAdmin = "tenant_admin";

    /// <summary>The cluster admin key, or the <c>admin</c> key of the tenant named by the route's <c>{tenant_id}</c>.</summary>
    public const string AdministersRouteTenant = "administers_route_tenant";

    /// <summary>The cluster admin key.</summary>
    public const string ClusterAdmin = "cluster_admin";

    /// <summary>A tenant key with role <c>read</c> or <c>admin</c>, or the cluster admin key (usage and metering).</summary>
    public const string ReadOrClusterAdmin = "read_or_cluster_admin";

    public static void Add(AuthorizationOptions options)
    {
        options.AddPolicy(Ingest, p => p.RequireAuthenticatedUser().RequireClaim(TallyClaims.Role, "ingest"));
        options.AddPolicy(Collect, p => p.RequireAuthenticatedUser().RequireClaim(TallyClaims.Role, "ingest", "collect"));
        options.AddPolicy(Read, p => p.RequireAuthenticatedUser().RequireClaim(TallyClaims.Role, "read", "admin"));
        options.AddPolicy(TenantAdmin, p => p.RequireAuthenticatedUser().RequireClaim(TallyClaims.Role, "admin"));
        options.AddPolicy(ClusterAdmin, p => p.RequireAuthenticatedUser().RequireClaim(TallyClaims.Role, TallyClaims.ClusterAdmin));
        options.AddPolicy(ReadOrClusterAdmin, p => p.RequireAuthenticatedUser().RequireClaim(TallyClaims.Role, "read", "admin", TallyClaims.ClusterAdmin));
        options.AddPolicy(AdministersRouteTenant, p => p.RequireAuthenticatedUser().RequireAssertion(context =>
        {
            if (context.User.IsClusterAdmin()) return true;
            var tenant = context.Resource is HttpContext http ? http.GetRouteValue("tenant_id") as string : null;
            return context.User.RoleOf() == "admin" && tenant is not null && context.User.TenantOf() == tenant;
        }));
        // Deny by default: an endpoint that names no policy (and is not anonymous) is refused to every key.
        options.FallbackPolicy = new AuthorizationPolicyBuilder().RequireAuthenticatedUser().RequireAssertion(_ => false).Build();
    }
}
