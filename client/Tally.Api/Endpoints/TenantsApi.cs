using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Tally.Api.Auth;
using Tally.Api.Http;
using Tally.Api.Models;
using Tally.Domain.Config;
using Tally.Domain.Time;
using Tally.Postgres.EventLog;
using Tally.Postgres.Hosting;
using Tally.Postgres.Tenants;

namespace Tally.Api.Endpoints;

/// <summary>Tenant administration: config (strictly parsed, versioned) and API keys.</summary>
internal static class TenantsApi
{
    private static readonly string[] Roles = ["ingest", "read", "admin", "collect"];

    public static IEndpointRouteBuilder MapTenantsApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v1/tenants/{tenant_id}").WithTags("Tenants")
            .RequireAuthorization(TallyPolicies.AdministersRouteTenant).ProducesErrors(400, 401, 403, 404, 409, 503);
        group.MapPut("", PutTenant).WithName("PutTenant").Accepts<TenantConfig>("application/json")
             .WithSummary("Create or replace a tenant's config")
             .WithDescription("The cluster admin key creates tenants; the tenant's admin key may change its config. Unknown fields are a 400 naming them. Returns the stored config.");
        group.MapPatch("", PatchTenant).WithName("PatchTenant").Accepts<JsonObject>("application/merge-patch+json", "application/json")
             .WithSummary("Change part of a tenant's config (JSON merge patch, RFC 7396)")
             .WithDescription("Fields present replace the stored ones, null removes an optional section; the result is validated like a PUT.");
        group.MapGet("", GetTenant).WithName("GetTenant").WithSummary("A tenant's config and version")
             .WithDescription("While the tenant is being removed: {\"tenant_id\", \"state\": \"removing\"}; 404 once it is gone.");
        group.MapDelete("", DeleteTenant).WithName("DeleteTenant").RequireAuthorization(TallyPolicies.ClusterAdmin)
             .WithSummary("Remove a tenant and everything of it")
             .WithDescription("Cluster admin key. 202 {\"tenant_id\", \"state\": \"removing\"}: the tenant's keys stop at once; its raw events are exported " +
                              "(under Tally:Export:Directory, verified) and then every row, state, board, cache entry and key of it is removed. " +
                              "GET answers state removing meanwhile and 404 once done; the id can then be created again, empty.");
        group.MapPost("/reshard", Reshard).WithName("ReshardTenant").Accepts<ReshardRequest>("application/json").RequireAuthorization(TallyPolicies.ClusterAdmin)
             .WithSummary("Split a tenant's boards over another number of shards")
             .WithDescription("Cluster admin key. Body {\"board_shards\": 1-256}. Answers once the tenant's shards have been rebuilt under the new count " +
                              "(about 16 s plus the rewrite of the saved states and the rebuilds); no rank is lost. While it runs, pages and ranks may count a " +
                              "moved user in its old and its new shard. A run cut short is finished by running it again with the same count.");
        group.MapGet("/shards", Shards).WithName("TenantShards")
             .WithSummary("Where the tenant's board shards run")
             .WithDescription("Each of the tenant's board_shards: whether it is active and, if so, the silo it runs on, its members, boards and cells, " +
                              "and when it was activated (a shard rebuilds on activation). Wakes no inactive shard.");
        group.MapPost("/keys", CreateKey).WithName("CreateKey").Accepts<CreateKeyRequest>("application/json")
             .WithSummary("Create an API key; the secret is shown once");
        group.MapGet("/keys", ListKeys).WithName("ListKeys").WithSummary("The tenant's keys, without secrets");
        group.MapDelete("/keys/{key_id}", RevokeKey).WithName("RevokeKey")
             .WithSummary("Revoke a key")
             .WithDescription("The key answers 401 on this API instance at once and on every other within Tally:Api:KeyCacheSeconds (default 10 s).");
        return app;
    }

    internal sealed record Services(TenantStore Store, TenantConfigCache Cache, PartitionMaintainer Partitions, IOptions<PostgresOptions> Postgres, TallyClock Clock);

    private static async Task<Results<Ok<TenantConfig>, BadRequest<ErrorBody>, Conflict<ErrorBody>, JsonHttpResult<ErrorBody>>> PutTenant(
        string tenant_id, HttpRequest request, [AsParameters] Services services, CancellationToken ct)
    {
        if (!TenantConfigValidator.IsValidTenantId(tenant_id))
            return ApiError.BadRequest("invalid_tenant_id", "tenant_id must be 1-64 chars of [a-z0-9_-], starting with a letter or digit.", "tenant_id");
        var (doc, bodyError) = await ApiJson.ReadBodyAsync(request, ct);
        if (doc is null) return bodyError!;
        TenantConfig? config;
        bool namesShards;
        using (doc)
        {
            config = TenantConfigParser.Parse(doc.RootElement, out var parseError);
            if (config is null) return ApiError.BadRequest(parseError!);
            namesShards = Tally.Domain.JsonText.TryGetProperty(doc.RootElement, "board_shards", out _);
        }
        return await StoreAsync(tenant_id, config, namesShards, request.HttpContext, services, ct);
    }

    private static async Task<Results<Ok<TenantConfig>, BadRequest<ErrorBody>, Conflict<ErrorBody>, JsonHttpResult<ErrorBody>>> PatchTenant(
        string tenant_id, HttpRequest request, [AsParameters] Services services, CancellationToken ct)
    {
        var existing = await services.Cache.GetAsync(tenant_id, 0, ct);
        if (existing is null) return ApiError.Status(404, "tenant_not_found", $"Tenant '{tenant_id}' does not exist; create it with PUT.");
        var (doc, bodyError) = await ApiJson.ReadBodyAsync(request, ct);
        if (doc is null) return bodyError!;
        JsonNode merged;
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                return ApiError.BadRequest("invalid_config", "A merge patch must be a JSON object.");
            // Text no config can hold is refused naming the field before the patch is merged as a tree.
            if (Tally.Domain.JsonText.FindUnstorable(doc.RootElement, "", out var problem) is { } at)
                return ApiError.BadRequest("invalid_string", $"This value {problem}.", at.TrimStart('.'));
            try
            {
                merged = MergePatch(JsonSerializer.SerializeToNode(existing.Config)!, JsonNode.Parse(doc.RootElement.GetRawText())!);
            }
            catch (ArgumentException ex)
            {
                // JsonObject refuses a name twice in one object.
                return ApiError.BadRequest("duplicate_field", $"The patch names a field twice: {ex.Message}");
            }
        }
        using var mergedDoc = JsonDocument.Parse(merged.ToJsonString());
        var config = TenantConfigParser.Parse(mergedDoc.RootElement, out var parseError);
        if (config is null) return ApiError.BadRequest(parseError!);
        return await StoreAsync(tenant_id, config, namesShards: true, request.HttpContext, services, ct);
    }

    private static async Task<Results<Ok<TenantConfig>, BadRequest<ErrorBody>, Conflict<ErrorBody>, JsonHttpResult<ErrorBody>>> StoreAsync(
        string tenantId, TenantConfig config, bool namesShards, HttpContext http, Services services, CancellationToken ct)
    {
        if (TenantConfigValidator.Validate(config) is { } invalid) return ApiError.BadRequest(invalid);
        var existing = await services.Cache.GetAsync(tenantId, 0, ct);
        if (existing is { IsRemoving: true }) return Removing(tenantId);
        if (existing is null && !http.User.IsClusterAdmin())
            return ApiError.Status(403, "forbidden", "Only the cluster admin key may create tenants.");
        if (existing is not null && existing.Config.TimeZone != config.TimeZone)
            return ApiError.Conflict("time_zone_conflict",
                $"The tenant's time zone is {existing.Config.TimeZone}; stats are bucketed in it and it cannot be changed.", "time_zone");
        // Omitting board_shards keeps the tenant's; naming a different count is a conflict.
        if (existing is not null && !namesShards) config = config with { BoardShards = existing.Config.BoardShards };
        if (existing is not null && existing.Config.BoardShards != config.BoardShards)
            return ApiError.Conflict("board_shards_conflict",
                $"The tenant's boards are split over {existing.Config.BoardShards} shards; change the count with POST /v1/tenants/{tenantId}/reshard.", "board_shards");

        // The tenant's events may fall anywhere in its retention range: their partitions exist before any arrives.
        await services.Partitions.EnsureForTenantAsync(config.Retention, services.Clock.UtcNow, services.Postgres.Value.PartitionsAheadMonths, ct);
        var stored = await services.Store.PutAsync(tenantId, JsonSerializer.Serialize(config), ct);
        return TypedResults.Ok(services.Cache.Remember(stored).Config);
    }

    private static async Task<Results<Ok<TenantResponse>, Ok<TenantRemovalResponse>, NotFound<ErrorBody>>> GetTenant(
        string tenant_id, TenantConfigCache cache, CancellationToken ct)
    {
        var tenant = await cache.GetAsync(tenant_id, 0, ct);
        if (tenant is null) return ApiError.NotFound("tenant_not_found", $"Tenant '{tenant_id}' does not exist.");
        if (tenant.IsRemoving)
        {
            // Removal ends with the row's deletion: read it again rather than answer from a cache entry up to 5 s old.
            cache.Forget(tenant_id);
            tenant = await cache.GetAsync(tenant_id, 0, ct);
            if (tenant is null) return ApiError.NotFound("tenant_not_found", $"Tenant '{tenant_id}' does not exist.");
            if (tenant.IsRemoving) return TypedResults.Ok(new TenantRemovalResponse(tenant_id));
        }
        return TypedResults.Ok(new TenantResponse(tenant.TenantId, tenant.Version, tenant.Config));
    }

    private static async Task<Results<Accepted<TenantRemovalResponse>, NotFound<ErrorBody>>> DeleteTenant(
        string tenant_id, TenantStore store, TenantConfigCache cache, ApiKeyResolver keys, IClusterClient cluster, ILoggerFactory logs, CancellationToken ct)
    {
        var keyIds = await store.BeginRemovalAsync(tenant_id, ct);
        if (keyIds is null) return ApiError.NotFound("tenant_not_found", $"Tenant '{tenant_id}' does not exist.");
        // This instance stops the keys now; every other within Tally:Api:KeyCacheSeconds, and sooner through the tenant's
        // state, which every process reads again within 5 s.
        foreach (var keyId in keyIds) keys.Forget(keyId);
        cache.Forget(tenant_id);
        var log = logs.CreateLogger("Tally.Api.TenantRemoval");
        log.LogInformation("Tenant {Tenant}: removal requested; {Keys} keys stopped.", tenant_id, keyIds.Length);
        // The removal outlasts this request (it waits for every process to see the tenant as removing, then exports):
        // it runs in the cluster, and the maintenance runner takes it up again if a silo is lost meanwhile.
        _ = cluster.GetGrain<Tally.Contracts.ITenantRemovalGrain>(tenant_id).Run().ContinueWith(t =>
        {
            if (t.Exception?.InnerException is { } ex and not TimeoutException)
                log.LogWarning(ex, "Tenant {Tenant}: the removal stopped early; the maintenance runner takes it up again.", tenant_id);
        }, TaskScheduler.Default);
        return TypedResults.Accepted($"/v1/tenants/{tenant_id}", new TenantRemovalResponse(tenant_id));
    }

    private static async Task<Results<Created<CreatedKey>, BadRequest<ErrorBody>, NotFound<ErrorBody>, JsonHttpResult<ErrorBody>>> CreateKey(
        string tenant_id, HttpRequest request, TenantStore store, TenantConfigCache cache, CancellationToken ct)
    {
        var (doc, bodyError) = await ApiJson.ReadBodyAsync(request, ct);
        if (doc is null) return bodyError!;
        string role;
        using (doc)
        {
            const string required = "role is required: ingest, read, admin or collect.";
            if (OnlyField(doc.RootElement, "role", required, out var r) is { } bad) return bad;
            if (r.ValueKind != JsonValueKind.String) return ApiError.BadRequest("missing_field", required, "role");
            Tally.Domain.JsonText.TryGetString(r, out role);
        }
        if (Array.IndexOf(Roles, role) < 0)
            return ApiError.BadRequest("invalid_role", "role must be ingest, read, admin or collect.", "role");
        var tenant = await cache.GetAsync(tenant_id, 0, ct);
        if (tenant is null) return ApiError.NotFound("tenant_not_found", $"Tenant '{tenant_id}' does not exist.");
        if (tenant.IsRemoving) return Removing(tenant_id);

        var (keyId, secret) = await store.CreateKeyAsync(tenant_id, role, ct);
        return TypedResults.Created($"/v1/tenants/{tenant_id}/keys/{keyId}", new CreatedKey(keyId, secret, role));
    }

    private static async Task<Results<Ok<KeyList>, NotFound<ErrorBody>>> ListKeys(string tenant_id, TenantStore store, TenantConfigCache cache, CancellationToken ct)
    {
        if (await cache.GetAsync(tenant_id, 0, ct) is null)
            return ApiError.NotFound("tenant_not_found", $"Tenant '{tenant_id}' does not exist.");
        var keys = await store.ListKeysAsync(tenant_id, ct);
        return TypedResults.Ok(new KeyList(keys.Select(k => new KeyInfo(k.KeyId, k.Role, k.CreatedAt, k.RevokedAt)).ToArray()));
    }

    private static async Task<Results<NoContent, NotFound<ErrorBody>>> RevokeKey(string tenant_id, string key_id, TenantStore store, ApiKeyResolver keys, CancellationToken ct)
    {
        if (!await store.RevokeKeyAsync(tenant_id, key_id, ct))
            return ApiError.NotFound("key_not_found", $"Tenant '{tenant_id}' has no key '{key_id}'.");
        keys.Forget(key_id);
        return TypedResults.NoContent();
    }

    private static async Task<Results<Ok<ReshardResponse>, BadRequest<ErrorBody>, NotFound<ErrorBody>, JsonHttpResult<ErrorBody>>> Reshard(
        string tenant_id, HttpRequest request, TenantConfigCache cache, IClusterClient cluster, CancellationToken ct)
    {
        var (doc, bodyError) = await ApiJson.ReadBodyAsync(request, ct);
        if (doc is null) return bodyError!;
        int shards;
        using (doc)
        {
            if (OnlyField(doc.RootElement, "board_shards", "board_shards is required: the new number of shards, 1-256.", out var value) is { } bad) return bad;
            if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt32(out shards))
                return ApiError.BadRequest("invalid_type", "board_shards must be an integer.", "board_shards");
        }
        if (shards is < 1 or > 256)
            return ApiError.BadRequest("out_of_range", "board_shards must be between 1 and 256.", "board_shards");
        var tenant = await cache.GetAsync(tenant_id, 0, ct);
        if (tenant is null) return ApiError.NotFound("tenant_not_found", $"Tenant '{tenant_id}' does not exist.");
        if (tenant.IsRemoving) return Removing(tenant_id);
        // Not cancelled with the request: a resharding left half done would leave boards rebuilt under two counts.
        var report = await cluster.GetGrain<Tally.Contracts.ITenantShardsGrain>(tenant_id).Reshard(shards);
        if (report is null) return ApiError.NotFound("tenant_not_found", $"Tenant '{tenant_id}' does not exist.");
        cache.Forget(tenant_id);
        return TypedResults.Ok(new ReshardResponse(tenant_id, report.Shards, report.PreviousShards, report.Users, report.UsersMoved,
            report.UsersMovedLate, report.ShardsRebuilt, report.ElapsedMs));
    }

    private static async Task<Results<Ok<TenantShardsResponse>, NotFound<ErrorBody>>> Shards(
        string tenant_id, TenantConfigCache cache, IClusterClient cluster, CancellationToken ct)
    {
        var tenant = await cache.GetAsync(tenant_id, 0, ct);
        if (tenant is null) return ApiError.NotFound("tenant_not_found", $"Tenant '{tenant_id}' does not exist.");
        var active = (await cluster.GetGrain<Tally.Contracts.ITenantShardsGrain>(tenant_id).Placement()).ToDictionary(p => p.Shard);
        var count = tenant.Config.BoardShards;
        var shards = new ShardInfo[count];
        for (var s = 0; s < count; s++)
            shards[s] = active.TryGetValue(s, out var p)
                ? new ShardInfo(s, true, p.Silo, p.Members, p.Boards, p.Cells, p.ActivatedAt)
                : new ShardInfo(s, false, null, null, null, null, null);
        return TypedResults.Ok(new TenantShardsResponse(tenant_id, count, shards));
    }

    /// <summary>A body that is an object whose one field is <paramref name="name"/>: its value, or the 400 that names what is
    /// missing or too much.</summary>
    private static BadRequest<ErrorBody>? OnlyField(JsonElement root, string name, string required, out JsonElement value)
    {
        value = default;
        if (root.ValueKind != JsonValueKind.Object || !Tally.Domain.JsonText.TryGetProperty(root, name, out value))
            return ApiError.BadRequest("missing_field", required, name);
        foreach (var property in root.EnumerateObject())
            if (!Tally.Domain.JsonText.TryGetName(property, out var other) || other != name)
                return ApiError.BadRequest("unknown_field", $"'{Tally.Domain.JsonText.Printable(other)}' is not a field here; expected: {name}.",
                    Tally.Domain.JsonText.Printable(other));
        return null;
    }

    private static JsonHttpResult<ErrorBody> Removing(string tenantId) =>
        ApiError.Status(StatusCodes.Status409Conflict, "tenant_removing", $"Tenant '{tenantId}' is being removed; create it again once GET answers 404.");

    /// <summary>RFC 7396: objects merge field by field, null removes, anything else replaces.</summary>
    private static JsonNode MergePatch(JsonNode target, JsonNode patch)
    {
        if (patch is not JsonObject patchObject) return patch.DeepClone();
        var result = target as JsonObject ?? new JsonObject();
        foreach (var (name, value) in patchObject)
        {
            if (value is null) result.Remove(name);
            else result[name] = result[name] is { } existing ? MergePatch(existing.DeepClone(), value) : value.DeepClone();
        }
        return result;
    }
}
