using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;
using Shouldly;
using Tally.Postgres.EventLog;
using Tally.Testing;
using Xunit;

namespace Tally.Cluster.Tests;

/// <summary>
/// The log fence on a real database (decision 011), with two silos' membership rows written here as
/// Orleans writes them: a write under an epoch that is no longer its user's is refused whole; a silo whose
/// row is dead writes nothing; an activation replacing a live silo's user waits for that silo's commit in
/// flight and replays it; marking a silo dead waits for its commit in flight.
/// </summary>
public class UserFenceTests : IAsyncLifetime
{
    private const string Cluster = "fence-cluster";
    private static readonly FenceIdentity SiloA = new(Cluster, "10.0.0.1", 11111, 1);
    private static readonly FenceIdentity SiloB = new(Cluster, "10.0.0.2", 11111, 1);

    private TestDatabase _db = null!;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Microsoft.Extensions.Hosting.BackgroundService> _workers = new();

    public async Task InitializeAsync()
    {
        _db = await TestDatabase.CreateAsync("fence");
        await _db.ExecuteAsync($"""
            INSERT INTO orleansmembershipversiontable (deploymentid) VALUES ('{Cluster}');
            INSERT INTO orleansmembershiptable (deploymentid, address, port, generation, siloname, hostname, status, starttime, iamalivetime)
            VALUES ('{Cluster}', '{SiloA.Address}', {SiloA.Port}, {SiloA.Generation}, 'a', 'a', 3, now(), now()),
                   ('{Cluster}', '{SiloB.Address}', {SiloB.Port}, {SiloB.Generation}, 'b', 'b', 3, now(), now());
            """);
    }

    public async Task DisposeAsync()
    {
        await _stop.CancelAsync();
        foreach (var worker in _workers) await worker.StopAsync(CancellationToken.None);
        await _db.DisposeAsync();
    }

    private sealed class Fence(FenceIdentity identity) : IWriteFence
    {
        public FenceIdentity Identity => identity;
    }

    /// <summary>A silo's writer and reader.</summary>
    private async Task<(EventLogWriter Writer, EventLogReader Reader)> SiloAsync(FenceIdentity identity)
    {
        var options = Options.Create(new EventLogOptions());
        var writer = new EventLogWriter(_db.DataSource, new PartitionMaintainer(_db.DataSource), options, TestMeters.Factory, NullLogger<EventLogWriter>.Instance, new Fence(identity));
        var reader = new EventLogReader(_db.DataSource, options, NullLogger<EventLogReader>.Instance, new Fence(identity));
        await writer.StartAsync(_stop.Token);
        await reader.StartAsync(_stop.Token);
        _workers.Add(writer);
        _workers.Add(reader);
        return (writer, reader);
    }

    private static EventLogRow Row(long epoch, string key, decimal co2) =>
        new("t1", epoch, new DateOnly(2025, 11, 22), DateTimeOffset.UtcNow, TestEvents.Make("u1", key, DateTimeOffset.Parse("2025-11-22T10:00:00Z"), [("co2", co2)]));

    /// <summary>A commit of <paramref name="silo"/> held open after taking its fence lock and writing one event.</summary>
    private async Task<(NpgsqlConnection Conn, NpgsqlTransaction Tx)> HoldCommitAsync(FenceIdentity silo, string key)
    {
        await new PartitionMaintainer(_db.DataSource).EnsureAsync(new HashSet<DateOnly> { new(2025, 11, 22) });
        var conn = await _db.DataSource.OpenConnectionAsync();
        var tx = await conn.BeginTransactionAsync();
        await using var cmd = new NpgsqlCommand($$"""
            SELECT 1 FROM orleansmembershiptable WHERE deploymentid = '{{Cluster}}' AND address = '{{silo.Address}}' AND port = {{silo.Port}} AND generation = {{silo.Generation}} FOR SHARE;
            INSERT INTO event_dedup (tenant_id, idempotency_key) VALUES ('t1', '{{key}}');
            INSERT INTO user_action_events (tenant_id, action_date, user_id, action, event_timestamp, idempotency_key, measures)
            VALUES ('t1', '2025-11-22', 'u1', 'ride', '2025-11-22T11:00:00Z', '{{key}}', '{"co2": 5}')
            """, conn, tx);
        await cmd.ExecuteNonQueryAsync();
        return (conn, tx);
    }

    private Task WaitForLockWaitAsync(string what) =>
        Eventually.WaitFor(() => _db.ScalarAsync<long>("SELECT count(*) FROM pg_locks WHERE NOT granted"), n => n > 0, TimeSpan.FromSeconds(10), what);

    [Fact]
    public async Task a_superseded_activation_writes_nothing_and_claims_no_key()
    {
        var (writerA, readerA) = await SiloAsync(SiloA);
        var first = await readerA.LoadUserAsync("t1", "u1");
        var second = await readerA.LoadUserAsync("t1", "u1");
        second.Epoch.ShouldBe(first.Epoch + 1);

        var refused = await writerA.AppendAsync([Row(first.Epoch, "k1", 1), Row(first.Epoch, "k2", 2)]);
        refused.ShouldAllBe(id => id == EventLogWriter.Superseded);
        (await _db.ScalarAsync<long>("SELECT count(*) FROM user_action_events")).ShouldBe(0);
        (await _db.ScalarAsync<long>("SELECT count(*) FROM event_dedup")).ShouldBe(0);

        // The live activation writes the same keys as new events.
        var accepted = await writerA.AppendAsync([Row(second.Epoch, "k1", 1), Row(second.Epoch, "k2", 2)]);
        accepted.ShouldAllBe(id => id > 0);
    }

    [Fact]
    public async Task a_silo_declared_dead_writes_nothing_and_claims_no_key()
    {
        var (writerA, readerA) = await SiloAsync(SiloA);
        var loaded = await readerA.LoadUserAsync("t1", "u1");
        await _db.ExecuteAsync($"UPDATE orleansmembershiptable SET status = 6 WHERE address = '{SiloA.Address}'");

        var refused = await writerA.AppendAsync([Row(loaded.Epoch, "k1", 1)]);
        refused.ShouldAllBe(id => id == EventLogWriter.Superseded);
        (await _db.ScalarAsync<long>("SELECT count(*) FROM event_dedup")).ShouldBe(0);
    }

    [Fact]
    public async Task an_activation_replacing_a_live_silos_user_waits_for_its_commit_in_flight_and_replays_it()
    {
        var (writerA, readerA) = await SiloAsync(SiloA);
        var (_, readerB) = await SiloAsync(SiloB);
        var old = await readerA.LoadUserAsync("t1", "u1");
        (await writerA.AppendAsync([Row(old.Epoch, "k0", 1)])).ShouldAllBe(id => id > 0);

        var (conn, tx) = await HoldCommitAsync(SiloA, "k-in-flight");
        await using (conn)
        await using (tx)
        {
            var loading = readerB.LoadUserAsync("t1", "u1");
            await WaitForLockWaitAsync("the new activation waiting on silo A's commit in flight");
            loading.IsCompleted.ShouldBeFalse();
            await tx.CommitAsync();

            var loaded = await loading;
            loaded.Epoch.ShouldBe(old.Epoch + 1);
            loaded.EventsAfter.Count.ShouldBe(2);
            loaded.EventsAfter[^1].Event.Measures.Single().Value.ShouldBe(5m);
        }

        // Silo A is still a live member, but its activation of u1 is stale: its next write is refused.
        (await writerA.AppendAsync([Row(old.Epoch, "k9", 1)])).ShouldAllBe(id => id == EventLogWriter.Superseded);
    }

    [Fact]
    public async Task marking_a_silo_dead_waits_for_its_commit_in_flight()
    {
        await SiloAsync(SiloA);
        var (conn, tx) = await HoldCommitAsync(SiloA, "k-in-flight");
        await using (conn)
        await using (tx)
        {
            // What Orleans' membership does when the cluster votes silo A dead.
            var marking = _db.ExecuteAsync($"UPDATE orleansmembershiptable SET status = 6 WHERE address = '{SiloA.Address}'");
            await WaitForLockWaitAsync("the death declaration waiting on silo A's commit in flight");
            marking.IsCompleted.ShouldBeFalse();
            await tx.CommitAsync();
            await marking;
        }
        (await _db.ScalarAsync<long>("SELECT count(*) FROM user_action_events WHERE idempotency_key = 'k-in-flight'")).ShouldBe(1);
    }
}
