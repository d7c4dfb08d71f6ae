using Shouldly;
using Tally.Cli;
using Tally.Testing;
using Xunit;

namespace Tally.Cli.Tests;

/// <summary><c>tally migrate</c> and <c>tally maintain</c> against a real database: a dry run changes nothing, a run
/// creates the partitions a tenant's retention range needs, a second runner waits its turn, bad values exit 2.</summary>
[Collection("console")]
public class MaintainTests : IAsyncLifetime
{
    private TestDatabase _db = null!;

    public async Task InitializeAsync() => _db = await TestDatabase.CreateAsync("maintain");

    public async Task DisposeAsync() => await _db.DisposeAsync();

    private async Task<(int Exit, string Out)> Run(params string[] args)
    {
        var (exit, output, error) = await CliRun.RunAsync([.. args, "--pg", _db.ConnectionString]);
        return (exit, output + error);
    }

    private Task<long> PartitionsAsync() => _db.ScalarAsync<long>("SELECT count(*) FROM pg_inherits WHERE inhparent = 'user_action_events'::regclass");

    [Fact]
    public async Task maintain_creates_the_partitions_of_every_tenants_range_and_a_dry_run_changes_nothing()
    {
        (await Run("migrate")).Exit.ShouldBe(0);
        await _db.ExecuteAsync("""INSERT INTO tenants (tenant_id, config) VALUES ('old', '{"time_zone":"UTC","measures":{"m":{}},"retention":{"raw_events_months":60}}')""");
        var before = await PartitionsAsync();

        var (exit, output) = await Run("maintain", "--dry-run", "--months-ahead", "12");
        exit.ShouldBe(0, output);
        output.ShouldContain("would ensure partitions");
        output.ShouldContain("would ANALYZE user_action_events");
        (await PartitionsAsync()).ShouldBe(before);

        (exit, output) = await Run("maintain", "--months-ahead", "12", "--no-analyze");
        exit.ShouldBe(0, output);
        var expected = DateTime.UtcNow.AddMonths(12).ToString("'user_action_events_y'yyyy'm'MM");
        (await _db.ScalarAsync<long>($"SELECT count(*) FROM pg_class WHERE relname = '{expected}'")).ShouldBe(1);
        (await PartitionsAsync()).ShouldBeGreaterThanOrEqualTo(73, "five years back for the 'old' tenant and a year ahead");
    }

    [Fact]
    public async Task retention_exports_verifies_then_removes_one_tenants_old_months_and_leaves_others_alone()
    {
        (await Run("migrate")).Exit.ShouldBe(0);
        await _db.ExecuteAsync("""
            INSERT INTO tenants (tenant_id, config) VALUES
              ('short', '{"time_zone":"UTC","measures":{"m":{}},"retention":{"raw_events_days":40,"dedup_days":1}}'),
              ('long', '{"time_zone":"UTC","measures":{"m":{}}}');
            SELECT tally_ensure_event_partitions((date_trunc('month', now()) - interval '4 months')::date, now()::date);
            INSERT INTO user_action_events (tenant_id, action_date, user_id, action, event_timestamp, idempotency_key, measures)
            SELECT t, (date_trunc('month', now()) - interval '3 months')::date + (i % 20), 'u' || i, 'a', now() - interval '90 days', t || '-old-' || i, '{"m": 1.5}'
              FROM unnest(ARRAY['short', 'long']) t, generate_series(1, 300) i;
            INSERT INTO user_action_events (tenant_id, action_date, user_id, action, event_timestamp, idempotency_key, measures)
            SELECT t, now()::date, 'u' || i, 'a', now(), t || '-new-' || i, '{"m": 2}'
              FROM unnest(ARRAY['short', 'long']) t, generate_series(1, 50) i;
            INSERT INTO event_dedup (tenant_id, idempotency_key, first_seen_at)
            SELECT tenant_id, idempotency_key, CASE WHEN idempotency_key LIKE '%-old-%' THEN now() - interval '3 days' ELSE now() END FROM user_action_events;
            """);
        var exports = Path.Combine(Path.GetTempPath(), "tally-retention-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            // An export that cannot be written removes nothing, and says so.
            await File.WriteAllTextAsync(exports, "not a directory");
            var (exit, output) = await Run("maintain", "--drop-old-partitions", "--export-dir", exports, "--no-analyze");
            exit.ShouldBe(1, output);
            output.ShouldContain("Nothing unexported was removed");
            (await Count("short")).ShouldBe(350);
            File.Delete(exports);

            (exit, output) = await Run("maintain", "--drop-old-partitions", "--export-dir", exports, "--no-analyze", "--dry-run");
            exit.ShouldBe(0, output);
            (await Count("short")).ShouldBe(350, "a dry run removes nothing");

            (exit, output) = await Run("maintain", "--drop-old-partitions", "--export-dir", exports, "--vacuum");
            exit.ShouldBe(0, output);
            (await Count("short")).ShouldBe(50, "the old month went, this month stayed");
            (await Count("long")).ShouldBe(350, "another tenant's retention is its own");
            var month = Directory.GetDirectories(Path.Combine(exports, "short")).Single();
            (await Run("verify-export", month)).Exit.ShouldBe(0);
            File.ReadAllText(Path.Combine(month, "manifest.json")).ShouldContain("\"rows\": 300");
            Directory.Exists(Path.Combine(exports, "long")).ShouldBeFalse();
            // Keys past dedup_days are forgotten for 'short' only.
            (await _db.ScalarAsync<long>("SELECT count(*) FROM event_dedup WHERE tenant_id = 'short'")).ShouldBe(50);
            (await _db.ScalarAsync<long>("SELECT count(*) FROM event_dedup WHERE tenant_id = 'long'")).ShouldBe(350);
            // The daily summary per tenant, day and action sums the per-user rows the snapshot job keeps.
            await _db.ExecuteAsync("""
                INSERT INTO user_daily_stats (tenant_id, user_id, action_date, action, events, sums) VALUES
                  ('long', 'u1', '2025-01-02', 'a', 3, '{}'), ('long', 'u2', '2025-01-02', 'a', 4, '{}'), ('long', 'u1', '2025-01-03', 'a', 1, '{}')
                """);
            (await _db.ScalarAsync<string>("SELECT string_agg(day || ':' || events || ':' || active_users, ',' ORDER BY day) FROM daily_analytics_summary WHERE tenant_id = 'long'"))
                .ShouldBe("2025-01-02:7:2,2025-01-03:1:1");
        }
        finally
        {
            if (Directory.Exists(exports)) Directory.Delete(exports, recursive: true);
            if (File.Exists(exports)) File.Delete(exports);
        }
    }

    [Fact]
    public async Task an_export_damaged_before_its_verification_stops_the_removal()
    {
        await _db.ExecuteAsync("""
            SELECT tally_ensure_event_partitions('2020-01-01', '2020-01-31');
            INSERT INTO user_action_events (tenant_id, action_date, user_id, action, event_timestamp, idempotency_key, measures)
            SELECT 't', DATE '2020-01-10', 'u', 'a', TIMESTAMPTZ '2020-01-10 10:00+00', 'k' || i, '{"m": 1}' FROM generate_series(1, 100) i;
            """);
        var exports = Path.Combine(Path.GetTempPath(), "tally-damaged-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            var runner = new Tally.Postgres.Lifecycle.RetentionRunner(_db.DataSource)
            {
                AfterExport = async dir =>
                {
                    var file = Directory.GetFiles(dir, "*.ndjson.gz").Single();
                    var bytes = await File.ReadAllBytesAsync(file);
                    bytes[^10] ^= 0xFF;
                    await File.WriteAllBytesAsync(file, bytes);
                },
            };
            var steps = await runner.RemoveExpiredAsync("t", new Tally.Domain.Config.RetentionConfig(), DateTimeOffset.UtcNow, exports, dryRun: false);
            steps.Single().Result.ShouldStartWith("kept: the export failed");
            steps.Single().Result.ShouldContain("SHA-256");
            (await Count("t")).ShouldBe(100, "nothing is removed on the strength of a damaged export");
        }
        finally
        {
            if (Directory.Exists(exports)) Directory.Delete(exports, recursive: true);
        }
    }

    [Fact]
    public async Task a_second_maintainer_says_another_one_runs_and_does_nothing()
    {
        await using var holder = await _db.DataSource.OpenConnectionAsync();
        await using (var take = new Npgsql.NpgsqlCommand("SELECT pg_advisory_lock(2047949335)", holder)) await take.ExecuteNonQueryAsync();
        var (exit, output) = await Run("maintain", "--months-ahead", "12");
        exit.ShouldBe(1);
        output.ShouldContain("Another 'tally maintain' holds the maintenance lock");
    }

    [Fact]
    public async Task jobs_lists_each_runners_last_run_from_the_ledger_newest_first()
    {
        (await Run("migrate")).Exit.ShouldBe(0);
        var ledger = new Tally.Postgres.Jobs.JobLedger(_db.DataSource);
        (await Run("jobs")).Out.ShouldContain("No runner has run yet");

        await ledger.RecordRunAsync("snapshot", TimeSpan.FromMilliseconds(1234), 0, CancellationToken.None);
        await ledger.RecordRunAsync("reconcile", TimeSpan.FromMilliseconds(56), 789, CancellationToken.None);
        var runs = await ledger.ReadRunsAsync(CancellationToken.None);
        runs.Select(r => r.Runner).ShouldBe(["reconcile", "snapshot"]);
        runs[0].Work.ShouldBe(789);
        runs[1].Duration.ShouldBe(TimeSpan.FromMilliseconds(1234));

        var (exit, output) = await Run("jobs");
        exit.ShouldBe(0);
        output.ShouldContain("reconcile");
        output.ShouldContain("789");
        output.ShouldContain("1,234 ms");
        output.ShouldContain("idle");
    }

    private Task<long> Count(string tenant) => _db.ScalarAsync<long>($"SELECT count(*) FROM user_action_events WHERE tenant_id = '{tenant}'");

    [Theory]
    [InlineData("maintain", "--months-ahead", "99")]
    [InlineData("maintain", "--vaccum")]
    public async Task bad_values_and_unknown_options_exit_2(params string[] args) => (await Run(args)).Exit.ShouldBe(2);
}
