using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Shouldly;
using Tally.Postgres.EventLog;
using Tally.Testing;
using Xunit;

namespace Tally.Cluster.Tests;

/// <summary>
/// The user epoch fence on a real database: a write from an activation that has been superseded
/// is refused whole, and an activation that starts while a commit is in flight sees that commit.
/// </summary>
public class UserFenceTests : IAsyncLifetime
{
    private TestDatabase _db = null!;
    private EventLogWriter _writer = null!;
    private EventLogReader _reader = null!;
    private readonly CancellationTokenSource _stop = new();

    public async Task InitializeAsync()
    {
        _db = await TestDatabase.CreateAsync("fence");
        var options = Options.Create(new EventLogOptions());
        _writer = new EventLogWriter(_db.DataSource, new PartitionMaintainer(_db.DataSource), options, NullLogger<EventLogWriter>.Instance);
        _reader = new EventLogReader(_db.DataSource, options, NullLogger<EventLogReader>.Instance);
        await _writer.StartAsync(_stop.Token);
        await _reader.StartAsync(_stop.Token);
    }

    public async Task DisposeAsync()
    {
        await _stop.CancelAsync();
        await _writer.StopAsync(CancellationToken.None);
        await _reader.StopAsync(CancellationToken.None);
        await _db.DisposeAsync();
    }

    private static EventLogRow Row(long epoch, string key, decimal co2) =>
        new("t1", epoch, new DateOnly(2025, 11, 22), DateTimeOffset.UtcNow, TestEvents.Make("u1", key, DateTimeOffset.Parse("2025-11-22T10:00:00Z"), [("co2", co2)]));

    [Fact]
    public async Task a_superseded_activation_writes_nothing_and_claims_no_key()
    {
        var first = await _reader.LoadUserAsync("t1", "u1");
        var second = await _reader.LoadUserAsync("t1", "u1");
        second.Epoch.ShouldBe(first.Epoch + 1);

        var refused = await _writer.AppendAsync([Row(first.Epoch, "k1", 1), Row(first.Epoch, "k2", 2)]);
        refused.ShouldAllBe(id => id == EventLogWriter.Superseded);
        (await _db.ScalarAsync<long>("SELECT count(*) FROM user_action_events")).ShouldBe(0);
        (await _db.ScalarAsync<long>("SELECT count(*) FROM event_dedup")).ShouldBe(0);

        // The live activation writes the same keys as new events.
        var accepted = await _writer.AppendAsync([Row(second.Epoch, "k1", 1), Row(second.Epoch, "k2", 2)]);
        accepted.ShouldAllBe(id => id > 0);
    }

    [Fact]
    public async Task an_activation_that_starts_during_a_commit_waits_for_it_and_replays_its_events()
    {
        var old = await _reader.LoadUserAsync("t1", "u1");
        (await _writer.AppendAsync([Row(old.Epoch, "k0", 1)])).ShouldAllBe(id => id > 0);

        // A commit of the old activation, held open after taking its fence lock and writing its row.
        await using var conn = await _db.DataSource.OpenConnectionAsync();
        await using var tx = await conn.BeginTransactionAsync();
        await using (var cmd = new Npgsql.NpgsqlCommand("""
            SELECT 1 FROM user_epochs WHERE tenant_id = 't1' AND user_id = 'u1' AND epoch = @epoch FOR SHARE;
            INSERT INTO event_dedup (tenant_id, idempotency_key) VALUES ('t1', 'k-in-flight');
            INSERT INTO user_action_events (tenant_id, action_date, user_id, action, event_timestamp, idempotency_key, measures)
            VALUES ('t1', '2025-11-22', 'u1', 'ride', '2025-11-22T11:00:00Z', 'k-in-flight', '{"co2": 5}')
            """, conn, tx))
        {
            cmd.Parameters.AddWithValue("epoch", old.Epoch);
            await cmd.ExecuteNonQueryAsync();
        }

        var loading = _reader.LoadUserAsync("t1", "u1");
        await Eventually.WaitFor(() => _db.ScalarAsync<long>("SELECT count(*) FROM pg_locks WHERE NOT granted"), n => n > 0,
            TimeSpan.FromSeconds(10), "the new activation waiting on the in-flight commit's fence lock");
        loading.IsCompleted.ShouldBeFalse();
        await tx.CommitAsync();

        var loaded = await loading;
        loaded.Epoch.ShouldBe(old.Epoch + 1);
        loaded.EventsAfter.Count.ShouldBe(2);
        loaded.EventsAfter[^1].Event.Measures.Single().Value.ShouldBe(5m);
    }
}
