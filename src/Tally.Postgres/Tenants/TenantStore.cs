using System.Security.Cryptography;
using System.Text;
using Npgsql;
using NpgsqlTypes;

namespace Tally.Postgres.Tenants;

/// <summary>Tenants, their config (JSONB, versioned) and their API keys (only hashes are stored).</summary>
public sealed class TenantStore(NpgsqlDataSource dataSource)
{
    public async Task<StoredTenant?> GetAsync(string tenantId, CancellationToken ct = default)
    {
        await using var cmd = dataSource.CreateCommand("SELECT config::text, version FROM tenants WHERE tenant_id = @t");
        cmd.Parameters.AddWithValue("t", tenantId);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) ? new StoredTenant(tenantId, reader.GetString(0), reader.GetInt64(1)) : null;
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
            INSERT INTO tenants (tenant_id, config) VALUES (@t, @c)
            ON CONFLICT (tenant_id) DO UPDATE SET config = excluded.config, version = tenants.version + 1, updated_at = now()
            RETURNING config::text, version
            """);
        cmd.Parameters.AddWithValue("t", tenantId);
        cmd.Parameters.AddWithValue("c", NpgsqlDbType.Jsonb, configJson);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        await reader.ReadAsync(ct);
        return new StoredTenant(tenantId, reader.GetString(0), reader.GetInt64(1));
    }

    /// <summary>Creates a key and returns its secret; the secret is not stored and cannot be shown again.</summary>
    public async Task<string> CreateKeyAsync(string tenantId, string role, CancellationToken ct = default)
    {
        var secret = $"tly_{role}_{Base64Url(RandomNumberGenerator.GetBytes(24))}";
        await using var cmd = dataSource.CreateCommand(
            "INSERT INTO api_keys (key_hash, tenant_id, role, key_prefix) VALUES (@h, @t, @r, @p)");
        cmd.Parameters.AddWithValue("h", Hash(secret));
        cmd.Parameters.AddWithValue("t", tenantId);
        cmd.Parameters.AddWithValue("r", role);
        cmd.Parameters.AddWithValue("p", secret[..Math.Min(secret.Length, 14)]);
        await cmd.ExecuteNonQueryAsync(ct);
        return secret;
    }

    public async Task<ApiKeyGrant?> FindKeyAsync(string secret, CancellationToken ct = default)
    {
        await using var cmd = dataSource.CreateCommand(
            "SELECT tenant_id, role FROM api_keys WHERE key_hash = @h AND revoked_at IS NULL");
        cmd.Parameters.AddWithValue("h", Hash(secret));
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) ? new ApiKeyGrant(reader.GetString(0), reader.GetString(1)) : null;
    }

    private static byte[] Hash(string secret) => SHA256.HashData(Encoding.UTF8.GetBytes(secret));

    private static string Base64Url(byte[] bytes) =>
        Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}

public sealed record StoredTenant(string TenantId, string ConfigJson, long Version);

public sealed record ApiKeyGrant(string TenantId, string Role);
