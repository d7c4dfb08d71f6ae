using System.Text.Json;
using Tally.Api.Auth;
using Tally.Api.Http;
using Tally.Domain.Config;
using Tally.Postgres.Tenants;

namespace Tally.Api.Endpoints;

/// <summary><c>PUT /v1/tenants/{id}</c> and <c>POST /v1/tenants/{id}/keys</c>.</summary>
internal static class TenantsApi
{
    private static readonly string[] Roles = ["ingest", "read", "admin"];

    public static IEndpointRouteBuilder MapTenantsApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v1/tenants").WithTags("Tenants");
        group.MapPut("/{tenant_id}", PutTenant).WithName("PutTenant").WithSummary("Create or update a tenant's config (cluster admin key, or the tenant's admin key to update).");
        group.MapPost("/{tenant_id}/keys", CreateKey).WithName("CreateKey").WithSummary("Create an API key for the tenant; the secret is shown once.");
        return app;
    }

    private static async Task<IResult> PutTenant(string tenant_id, HttpRequest request, ApiKeyAuthenticator auth, TenantStore store, TenantConfigCache cache, CancellationToken ct)
    {
        var (caller, authError) = await auth.AuthenticateAsync(request, ct);
        if (caller is null) return authError!;
        if (!caller.AdministersTenant(tenant_id))
            return ApiError.Forbidden("Only the cluster admin key or this tenant's admin key may change its config.");
        if (!TenantConfigValidator.IsValidTenantId(tenant_id))
            return ApiError.BadRequest("invalid_tenant_id", "tenant_id must be 1-64 chars of [a-z0-9_-], starting with a letter or digit.", "tenant_id");

        var (doc, bodyError) = await ApiJson.ReadBodyAsync(request, ct);
        if (doc is null) return bodyError!;
        TenantConfig? config;
        bool namesShards;
        using (doc)
        {
            namesShards = doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("board_shards", out _);
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                return ApiError.BadRequest("invalid_config", "The tenant config must be a JSON object.");
            try
            {
                config = doc.RootElement.Deserialize<TenantConfig>();
            }
            catch (JsonException ex)
            {
                return ApiError.BadRequest("invalid_config", $"The tenant config has a value of the wrong type at {ex.Path}.", ex.Path?.TrimStart('$', '.'));
            }
        }
        if (config is null) return ApiError.BadRequest("invalid_config", "The tenant config must be a JSON object.");
        config = config with { Dimensions = config.Dimensions ?? [], Measures = config.Measures ?? [], Retention = config.Retention ?? new() };
        if (TenantConfigValidator.Validate(config) is { } invalid) return ApiError.BadRequest(invalid);

        var existing = await cache.GetAsync(tenant_id, 0, ct);
        if (existing is null && !caller.IsClusterAdmin)
            return ApiError.Forbidden("Only the cluster admin key may create tenants.");
        if (existing is not null && existing.Config.TimeZone != config.TimeZone)
            return ApiError.Status(409, "time_zone_conflict",
                $"The tenant's time zone is {existing.Config.TimeZone}; stats are bucketed in it and it cannot be changed.", "time_zone");
        // Omitting board_shards keeps the tenant's; naming a different count is a conflict.
        if (existing is not null && !namesShards) config = config with { BoardShards = existing.Config.BoardShards };
        if (existing is not null && existing.Config.BoardShards != config.BoardShards)
            return ApiError.Status(409, "board_shards_conflict",
                $"The tenant's boards are split over {existing.Config.BoardShards} shards; users are placed by it and it cannot be changed.", "board_shards");

        var stored = await store.PutAsync(tenant_id, JsonSerializer.Serialize(config), ct);
        var loaded = cache.Remember(stored);
        return Results.Json(loaded.Config, ApiJson.Options);
    }

    private static async Task<IResult> CreateKey(string tenant_id, HttpRequest request, ApiKeyAuthenticator auth, TenantStore store, TenantConfigCache cache, CancellationToken ct)
    {
        var (caller, authError) = await auth.AuthenticateAsync(request, ct);
        if (caller is null) return authError!;
        if (!caller.AdministersTenant(tenant_id))
            return ApiError.Forbidden("Only the cluster admin key or this tenant's admin key may create its keys.");

        var (doc, bodyError) = await ApiJson.ReadBodyAsync(request, ct);
        if (doc is null) return bodyError!;
        string? role;
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object || !doc.RootElement.TryGetProperty("role", out var r) || r.ValueKind != JsonValueKind.String)
                return ApiError.BadRequest("missing_field", "role is required: ingest, read or admin.", "role");
            role = r.GetString();
        }
        if (Array.IndexOf(Roles, role) < 0)
            return ApiError.BadRequest("invalid_role", "role must be ingest, read or admin.", "role");
        if (await cache.GetAsync(tenant_id, 0, ct) is null)
            return ApiError.NotFound("tenant_not_found", $"Tenant '{tenant_id}' does not exist.");

        var secret = await store.CreateKeyAsync(tenant_id, role!, ct);
        return Results.Json(new CreatedKey(secret, role!), ApiJson.Options, statusCode: 201);
    }

    private sealed record CreatedKey(string Key, string Role);
}
