using System.Security.Cryptography;
using System.Text;
using Npgsql;
using NpgsqlTypes;

namespace Tally.Postgres.Tenants;

/// <summary>Tenants, their config (JSONB, versioned) and their API keys (only hashes are stored).</summary>
internal sealed class TenantStore(NpgsqlDataSource dataSource)
{
    public async Task<StoredTenant?> GetAsync(string tenantId, CancellationToken ct = default)
    {
        await using var cmd = dataSource.CreateCommand("SELECT config::text, version, checkpoint_era, removing_since FROM tenants WHERE tenant_id = @t");
        cmd.Parameters.AddWithValue("t", tenantId);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct)
            ? new StoredTenant(tenantId, reader.GetString(0), reader.GetInt64(1), reader.GetInt32(2),
                reader.IsDBNull(3) ? null : reader.GetFieldValue<DateTimeOffset>(3))
            : null;
    }

    public async Task<List<StoredTenant>> ListAsync(CancellationToken ct = default)
    {
        var tenants = new List<StoredTenant>();
        await using var cmd = dataSource.CreateCommand("SELECT tenant_id, config::text, version, checkpoint_era, removing_since FROM tenants ORDER BY tenant_id");
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
            tenants.Add(new StoredTenant(reader.GetString(0), reader.GetString(1), reader.GetInt64(2), reader.GetInt32(3),
                reader.IsDBNull(4) ? null : reader.GetFieldValue<DateTimeOffset>(4)));
        return tenants;
    }

    public async Task<List<string>> ListIdsAsync(CancellationToken ct = default)
    {
        var ids = new List<string>();
        await using var cmd = dataSource.CreateCommand("SELECT tenant_id FROM tenants ORDER BY tenant_id");
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct)) ids.Add(reader.GetString(0));
        return ids;
    }

    public async Task<StoredTenant> PutAsync(string tenantId, string configJson, CancellationToken ct = default)
    {
        await using var cmd = dataSource.CreateCommand("""
            INSERT INTO tenants (tenant_id, config, checkpoint_era) VALUES (@t, @c, CASE WHEN @c::jsonb ? 'checkpoint' THEN 1 ELSE 0 END)
            ON CONFLICT (tenant_id) DO UPDATE SET
                -- The shard count changes only through SetBoardShardsAsync (a resharding): a PUT decided on a cached
                -- config must not put back the count a resharding just replaced.
                config = CASE WHEN tenants.config ? 'board_shards'
                              THEN jsonb_set(excluded.config, '{board_shards}', tenants.config -> 'board_shards')
                              ELSE excluded.config END,
                version = tenants.version + 1, updated_at = now(),
                checkpoint_era = tenants.checkpoint_era
                    + CASE WHEN excluded.config ? 'checkpoint' AND NOT tenants.config ? 'checkpoint' THEN 1 ELSE 0 END
            RETURNING config::text, version, checkpoint_era
            """);
        cmd.Parameters.AddWithValue("t", tenantId);
        cmd.Parameters.AddWithValue("c", NpgsqlDbType.Jsonb, configJson);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        await reader.ReadAsync(ct);
        return new StoredTenant(tenantId, reader.GetString(0), reader.GetInt64(1), reader.GetInt32(2));
    }

    /// <summary>Sets a tenant's <c>board_shards</c> (a new config version); returns the stored tenant, or null when it does not
    /// exist or is being removed.</summary>
    public async Task<StoredTenant?> SetBoardShardsAsync(string tenantId, int shards, CancellationToken ct = default)
    {
        await using var cmd = dataSource.CreateCommand("""
            UPDATE tenants SET config = jsonb_set(config, '{board_shards}', to_jsonb($2::int)), version = version + 1, updated_at = now()
             WHERE tenant_id = $1 AND removing_since IS NULL
            RETURNING config::text, version, checkpoint_era
            """);
        cmd.Parameters.Add(new() { Value = tenantId });
        cmd.Parameters.Add(new() { Value = shards });
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        if (!await reader.ReadAsync(ct)) return null;
        return new StoredTenant(tenantId, reader.GetString(0), reader.GetInt64(1), reader.GetInt32(2));
    }

    /// <summary>Marks a tenant as being removed (kept if already marked) and revokes every key of it in the same
    /// transaction; returns the ids of the keys it had, or null when the tenant does not exist.</summary>
    public async Task<string[]?> BeginRemovalAsync(string tenantId, CancellationToken ct = default)
    {
        await using var cmd = dataSource.CreateCommand("""
            WITH marked AS (UPDATE tenants SET removing_since = COALESCE(removing_since, now()) WHERE tenant_id = $1 RETURNING tenant_id),
                 stopped AS (UPDATE api_keys k SET revoked_at = COALESCE(k.revoked_at, now()) FROM marked m WHERE k.tenant_id = m.tenant_id RETURNING k.key_id)
            SELECT (SELECT count(*) FROM marked), ARRAY(SELECT key_id FROM stopped)
            """);
        cmd.Parameters.Add(new() { Value = tenantId });
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        await reader.ReadAsync(ct);
        return reader.GetInt64(0) == 0 ? null : reader.GetFieldValue<string[]>(1);
    }

    /// <summary>The tenants being removed, oldest removal first.</summary>
    public async Task<List<string>> ListRemovingAsync(CancellationToken ct = default)
    {
        var ids = new List<string>();
        await using var cmd = dataSource.CreateCommand("SELECT tenant_id FROM tenants WHERE removing_since IS NOT NULL ORDER BY removing_since");
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct)) ids.Add(reader.GetString(0));
        return ids;
    }

    /// <summary>Creates a key and returns its public id and its secret; the secret is not stored and cannot be shown again.</summary>
    public async Task<(string KeyId, string Secret)> CreateKeyAsync(string tenantId, string role, CancellationToken ct = default)
    {
        var secret = $"tly_{role}_{Base64Url(RandomNumberGenerator.GetBytes(24))}";
        var keyId = "key_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(10));
        await using var cmd = dataSource.CreateCommand(
            "INSERT INTO api_keys (key_hash, tenant_id, role, key_id) VALUES ($1, $2, $3, $4)");
        cmd.Parameters.Add(new() { Value = Hash(secret) });
        cmd.Parameters.Add(new() { Value = tenantId });
        cmd.Parameters.Add(new() { Value = role });
        cmd.Parameters.Add(new() { Value = keyId });
        await cmd.ExecuteNonQueryAsync(ct);
        return (keyId, secret);
    }

    public async Task<ApiKeyGrant?> FindKeyAsync(string secret, CancellationToken ct = default)
    {
        await using var cmd = dataSource.CreateCommand(
            "SELECT tenant_id, role, key_id FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL");
        cmd.Parameters.Add(new() { Value = Hash(secret) });
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) ? new ApiKeyGrant(reader.GetString(0), reader.GetString(1), reader.GetString(2)) : null;
    }

    /// <summary>Every key of the tenant (never a secret), oldest first.</summary>
    public async Task<List<StoredKey>> ListKeysAsync(string tenantId, CancellationToken ct = default)
    {
        var keys = new List<StoredKey>();
        await using var cmd = dataSource.CreateCommand(
            "SELECT key_id, role, created_at, revoked_at FROM api_keys WHERE tenant_id = $1 ORDER BY created_at, key_id");
        cmd.Parameters.Add(new() { Value = tenantId });
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
            keys.Add(new StoredKey(reader.GetString(0), reader.GetString(1), reader.GetFieldValue<DateTimeOffset>(2),
                reader.IsDBNull(3) ? null : reader.GetFieldValue<DateTimeOffset>(3)));
        return keys;
    }

    /// <summary>Revokes a key of the tenant; false if the tenant has no such key. Revoking twice keeps the first time.</summary>
    public async Task<bool> RevokeKeyAsync(string tenantId, string keyId, CancellationToken ct = default)
    {
        await using var cmd = dataSource.CreateCommand(
            "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, now()) WHERE tenant_id = $1 AND key_id = $2");
        cmd.Parameters.Add(new() { Value = tenantId });
        cmd.Parameters.Add(new() { Value = keyId });
        return await cmd.ExecuteNonQueryAsync(ct) > 0;
    }

    private static byte[] Hash(string secret) => SHA256.HashData(Encoding.UTF8.GetBytes(secret));

    private static string Base64Url(byte[] bytes) =>
        Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}

/// <summary>A tenant as stored: its config, the config's version and its checkpoint era (decision 010).</summary>
/// <summary>A tenant row; <paramref name="RemovingSince"/> is set while the tenant is being removed.</summary>
internal sealed record StoredTenant(string TenantId, string ConfigJson, long Version, int CheckpointEra = 0, DateTimeOffset? RemovingSince = null);

internal sealed record ApiKeyGrant(string TenantId, string Role, string KeyId);

internal sealed record StoredKey(string KeyId, string Role, DateTimeOffset CreatedAt, DateTimeOffset? RevokedAt);
