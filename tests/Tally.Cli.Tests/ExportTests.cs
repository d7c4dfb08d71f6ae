using System.IO.Compression;
using Shouldly;
using Tally.Cli;
using Tally.Testing;
using Xunit;

namespace Tally.Cli.Tests;

/// <summary><c>tally export</c>, <c>verify-export</c> and <c>restore</c> on a real database: every row round-trips with
/// its checksums, a corrupted file is refused, a restore brings removed rows back exactly and claims their keys.</summary>
[Collection("console")]
public class ExportTests : IAsyncLifetime
{
    private TestDatabase _db = null!;
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "tally-export-" + Guid.NewGuid().ToString("N")[..8]);

    public async Task InitializeAsync()
    {
        _db = await TestDatabase.CreateAsync("export");
        await _db.ExecuteAsync("SELECT tally_ensure_event_partitions('2025-01-01', '2025-02-28')");
        // 2,500 events of tenant a in January (odd values, a payload, a quote and a backslash), some of b, some in February.
        await _db.ExecuteAsync("""
            INSERT INTO user_action_events (tenant_id, action_date, user_id, action, event_timestamp, idempotency_key, measures, dims, payload, arrived_at)
            SELECT 'a', DATE '2025-01-01' + (i % 31), 'u' || (i % 97), 'bike', TIMESTAMPTZ '2025-01-01 10:00+00' + make_interval(days => i % 31, secs => i),
                   'k' || i, jsonb_build_object('co2', (i * 1.0001)::numeric), jsonb_build_object('country', 'DE'),
                   CASE WHEN i % 10 = 0 THEN jsonb_build_object('note', 'a "quoted" \ value ' || i) END, now()
              FROM generate_series(1, 2500) i;
            INSERT INTO user_action_events (tenant_id, action_date, user_id, action, event_timestamp, idempotency_key, measures)
            SELECT 'b', DATE '2025-01-05', 'u1', 'bike', TIMESTAMPTZ '2025-01-05 10:00+00', 'b' || i, '{"co2": 1}' FROM generate_series(1, 40) i;
            INSERT INTO user_action_events (tenant_id, action_date, user_id, action, event_timestamp, idempotency_key, measures)
            SELECT 'a', DATE '2025-02-05', 'u1', 'bike', TIMESTAMPTZ '2025-02-05 10:00+00', 'f' || i, '{"co2": 1}' FROM generate_series(1, 30) i;
            INSERT INTO event_dedup (tenant_id, idempotency_key) SELECT tenant_id, idempotency_key FROM user_action_events;
            """);
    }

    public async Task DisposeAsync()
    {
        await _db.DisposeAsync();
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    private async Task<(int Exit, string Out)> Run(params string[] args)
    {
        var (exit, output, error) = await CliRun.RunAsync([.. args, "--pg", _db.ConnectionString]);
        return (exit, output + error);
    }

    private const string January = "tenant_id = 'a' AND action_date >= '2025-01-01' AND action_date < '2025-02-01'";

    private Task<string> FingerprintAsync() => _db.ScalarAsync<string>(
        $"SELECT md5(string_agg(row_to_json(e)::text, '\n' ORDER BY event_id)) FROM user_action_events e WHERE {January}");

    [Fact]
    public async Task an_export_round_trips_every_row_and_a_corrupted_file_is_refused()
    {
        var before = await FingerprintAsync();
        var (exit, output) = await Run("export", "--tenant", "a", "--month", "2025-01", "--to", _dir);
        exit.ShouldBe(0, output);
        var month = Path.Combine(_dir, "a", "2025-01");
        (await Run("verify-export", month)).Exit.ShouldBe(0);
        File.ReadAllText(Path.Combine(month, "manifest.json")).ShouldContain("\"rows\": 2500");

        // Removed from the log (as retention would), then restored: the same rows, byte for byte, and their keys claimed.
        await _db.ExecuteAsync($"DELETE FROM user_action_events WHERE {January}; DELETE FROM event_dedup WHERE tenant_id = 'a' AND idempotency_key LIKE 'k%'");
        (exit, output) = await Run("restore", month);
        exit.ShouldBe(0, output);
        output.ShouldContain("restored 2,500 rows");
        (await FingerprintAsync()).ShouldBe(before);
        (await _db.ScalarAsync<long>("SELECT count(*) FROM event_dedup WHERE tenant_id = 'a' AND idempotency_key LIKE 'k%'")).ShouldBe(2500);
        (await _db.ScalarAsync<long>("SELECT count(*) FROM user_action_events WHERE tenant_id = 'b'")).ShouldBe(40, "other tenants untouched");
        (await Run("restore", month)).Out.ShouldContain("restored 0 rows", Case.Insensitive, "a second restore changes nothing");

        // One flipped byte in a file: verify and restore refuse it.
        var file = Directory.GetFiles(month, "*.ndjson.gz").Single();
        var bytes = await File.ReadAllBytesAsync(file);
        bytes[bytes.Length / 2] ^= 0x5A;
        await File.WriteAllBytesAsync(file, bytes);
        (exit, output) = await Run("verify-export", month);
        exit.ShouldBe(1);
        output.ShouldContain("SHA-256");
        (await Run("restore", month)).Exit.ShouldBe(1);
    }

    [Theory]
    [InlineData("export", "--tenant", "a", "--month", "2025-13", "--to", "/tmp/x")]
    [InlineData("export", "--month", "2025-01", "--to", "/tmp/x")]
    public async Task bad_export_options_exit_2(params string[] args) => (await Run(args)).Exit.ShouldBe(2);
}
