using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Tally.Postgres;

/// <summary>
/// Applies the numbered <c>Migrations/*.sql</c> files embedded in this assembly, in order, each in
/// its own transaction, recording them in <c>schema_migrations</c>. A session advisory lock makes
/// one runner do the work when several silos and API instances start at once. A migration that was
/// changed after it was applied stops start-up: the database no longer matches what the code expects,
/// and a new numbered migration is the way to change it.
/// </summary>
internal sealed class MigrationRunner(NpgsqlDataSource dataSource, ILogger<MigrationRunner> logger)
{
    private const long AdvisoryLockKey = 0x7A11_7A11;

    public async Task<int> MigrateAsync(CancellationToken ct = default)
    {
        await using var conn = await dataSource.OpenConnectionAsync(ct);
        await Exec(conn, "SELECT pg_advisory_lock(@key)", ct, AdvisoryLockKey);
        try
        {
            await Exec(conn, """
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version    text        NOT NULL PRIMARY KEY,
                    checksum   text        NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT now())
                """, ct);
            var applied = new Dictionary<string, string>();
            await using (var cmd = new NpgsqlCommand("SELECT version, checksum FROM schema_migrations", conn))
            await using (var reader = await cmd.ExecuteReaderAsync(ct))
                while (await reader.ReadAsync(ct))
                    applied[reader.GetString(0)] = reader.GetString(1);

            var count = 0;
            foreach (var (version, sql) in LoadScripts())
            {
                var checksum = Checksum(sql);
                if (applied.TryGetValue(version, out var existing))
                {
                    if (existing != checksum)
                        throw new MigrationChangedException(version, existing, checksum);
                    continue;
                }
                await using var tx = await conn.BeginTransactionAsync(ct);
                try
                {
                    await using (var cmd = new NpgsqlCommand(sql, conn, tx)) await cmd.ExecuteNonQueryAsync(ct);
                    await using (var rec = new NpgsqlCommand("INSERT INTO schema_migrations (version, checksum) VALUES (@v, @c)", conn, tx))
                    {
                        rec.Parameters.AddWithValue("v", version);
                        rec.Parameters.AddWithValue("c", checksum);
                        await rec.ExecuteNonQueryAsync(ct);
                    }
                    await tx.CommitAsync(ct);
                }
                catch (PostgresException ex)
                {
                    throw new InvalidOperationException($"Migration {version} failed: {ex.MessageText} (at {ex.Position}).", ex);
                }
                logger.LogInformation("Applied migration {Version}", version);
                count++;
            }
            return count;
        }
        finally
        {
            await Exec(conn, "SELECT pg_advisory_unlock(@key)", CancellationToken.None, AdvisoryLockKey);
        }
    }

    /// <summary>SHA-256 of the script with line endings as LF, so a checkout with CRLF files hashes the same.</summary>
    internal static string Checksum(string sql) =>
        Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(sql.Replace("\r\n", "\n", StringComparison.Ordinal))));

    internal static IEnumerable<(string Version, string Sql)> LoadScripts()
    {
        var assembly = typeof(MigrationRunner).Assembly;
        const string prefix = "Tally.Postgres.Migrations.";
        foreach (var name in assembly.GetManifestResourceNames().Where(n => n.StartsWith(prefix, StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            using var stream = assembly.GetManifestResourceStream(name)!;
            using var reader = new StreamReader(stream);
            yield return (name[prefix.Length..^".sql".Length], reader.ReadToEnd());
        }
    }

    private static async Task Exec(NpgsqlConnection conn, string sql, CancellationToken ct, long? key = null)
    {
        await using var cmd = new NpgsqlCommand(sql, conn);
        if (key is { } k) cmd.Parameters.AddWithValue("key", k);
        await cmd.ExecuteNonQueryAsync(ct);
    }
}
