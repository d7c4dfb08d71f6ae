using System.Text.Json.Serialization;
using Tally.Domain.Config;

namespace Tally.Api.Models;

/// <summary>A tenant's stored config and its version (it grows by one with every change).</summary>
public sealed record TenantResponse(string TenantId, long Version, TenantConfig Config, string State = "active");

/// <summary>A tenant being removed (<c>DELETE /v1/tenants/{id}</c> answers it, <c>GET</c> until the removal is done).</summary>
public sealed record TenantRemovalResponse(string TenantId, string State = "removing");

/// <summary><c>POST /v1/tenants/{tenant_id}/reshard</c> body.</summary>
public sealed record ReshardRequest(int BoardShards);

/// <summary>A finished resharding: saved users read and moved to another shard (of them, moved late: their save was in
/// flight when the count changed), the new count's shards rebuilt, and how long it took.</summary>
public sealed record ReshardResponse(string TenantId, int BoardShards, int PreviousBoardShards, long Users, long UsersMoved,
    long UsersMovedLate, int ShardsRebuilt, long ElapsedMs);

/// <summary><c>GET /v1/tenants/{tenant_id}/shards</c>: each of the tenant's board shards.</summary>
public sealed record TenantShardsResponse(string TenantId, int BoardShards, ShardInfo[] Shards);

/// <summary>A board shard: an active one names its silo and what it holds; an inactive one only its number.</summary>
public sealed record ShardInfo(int Shard, bool Active,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Silo,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? Members,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? Boards,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? Cells,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] DateTimeOffset? ActivatedAt);

/// <summary><c>POST /v1/tenants/{tenant_id}/keys</c> body.</summary>
public sealed record CreateKeyRequest(string Role);

/// <summary>A new key. The secret is shown here once and never again.</summary>
public sealed record CreatedKey(string KeyId, string Key, string Role);

public sealed record KeyList(KeyInfo[] Keys);

/// <summary>A key without its secret.</summary>
public sealed record KeyInfo(string KeyId, string Role, DateTimeOffset CreatedAt, DateTimeOffset? RevokedAt);

/// <summary><c>POST /v1/tenants/{tenant_id}/webhooks</c> body.</summary>
public sealed record CreateWebhookRequest(string Url, string[]? Kinds);

/// <summary>A webhook just registered: the only answer that shows its secret.</summary>
public sealed record CreatedWebhook(string WebhookId, string Url, string[] Kinds, string State, string Secret, DateTimeOffset CreatedAt);

/// <summary>A webhook (never its secret).</summary>
public sealed record WebhookInfo(string WebhookId, string Url, string[] Kinds, string State, DateTimeOffset CreatedAt,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] DateTimeOffset? DisabledAt);

public sealed record WebhookList(WebhookInfo[] Webhooks);

/// <summary>One delivery attempt: the change it carried, which attempt, when, the receiver's status (null without an answer).</summary>
public sealed record DeliveryInfo(string ChangeId, int Attempt, DateTimeOffset At, int? Status, int DurationMs, string? Error);

public sealed record DeliveryList(DeliveryInfo[] Deliveries);
