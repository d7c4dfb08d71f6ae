using Tally.Domain.Config;

namespace Tally.Api.Models;

/// <summary>A tenant's stored config and its version (it grows by one with every change).</summary>
public sealed record TenantResponse(string TenantId, long Version, TenantConfig Config);

/// <summary><c>POST /v1/tenants/{tenant_id}/keys</c> body.</summary>
public sealed record CreateKeyRequest(string Role);

/// <summary>A new key. The secret is shown here once and never again.</summary>
public sealed record CreatedKey(string KeyId, string Key, string Role);

public sealed record KeyList(KeyInfo[] Keys);

/// <summary>A key without its secret.</summary>
public sealed record KeyInfo(string KeyId, string Role, DateTimeOffset CreatedAt, DateTimeOffset? RevokedAt);
