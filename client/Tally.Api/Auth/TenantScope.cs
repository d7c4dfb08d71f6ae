using Tally.Api.Http;
using Tally.Domain.Config;
using Tally.Postgres.Tenants;

namespace Tally.Api.Auth;

/// <summary>
/// The calling key's tenant, bound as a handler parameter. The tenant always comes from the key,
/// never from the URL or the body; an endpoint that takes a <see cref="TenantScope"/> cannot forget that.
/// </summary>
internal sealed class TenantScope(LoadedTenant tenant)
{
    public LoadedTenant Tenant { get; } = tenant;

    public string Id => Tenant.TenantId;

    public static async ValueTask<TenantScope?> BindAsync(HttpContext context)
    {
        var tenantId = context.User.TenantOf() ?? throw new TenantAccessException("This endpoint needs a tenant key.");
        var tenants = context.RequestServices.GetRequiredService<TenantConfigCache>();
        var tenant = await tenants.GetAsync(tenantId, 0, context.RequestAborted);
        // A removed tenant's keys stop (API.md, Tenant removal): they are keys of nothing any more.
        if (tenant is null || tenant.IsRemoving) throw new KeyStoppedException($"The key's tenant '{tenantId}' was removed.");
        return new TenantScope(tenant);
    }
}
