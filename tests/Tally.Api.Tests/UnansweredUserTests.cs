using System.Diagnostics;
using System.Text.Json.Nodes;
using Npgsql;
using Shouldly;
using Tally.Testing;
using Xunit;

namespace Tally.Api.Tests;

/// <summary>
/// A user whose grain does not answer (here: its activation waits on a lock the test holds on the user's epoch row, as a
/// grain on a paused silo would never answer) costs only that user: the request is answered within its deadline, the
/// other users' events are acknowledged and that user's get <c>retry</c>; sent again once the grain answers, they apply once.
/// </summary>
[Collection(ApiCollection.Name)]
public class UnansweredUserTests(ApiFixture fixture) : ApiTestBase(fixture)
{
    /// <summary>The API's ingest deadline (Tally:Api:IngestTimeoutMs, default) plus the client's own share on two busy cores.</summary>
    private static readonly TimeSpan AnsweredWithin = TimeSpan.FromMilliseconds(1_600 + 900);

    [Fact]
    public async Task events_of_a_user_whose_grain_does_not_answer_get_retry_and_the_others_are_accepted()
    {
        var t = await Fixture.CreateTenantAsync();
        (await Post(t.IngestKey, Batch(Event("awake", "a0")))).Status.ShouldBe(200); // the other user's grain is active
        await using (var hold = await HoldActivationAsync(t.Id, "stuck"))
        {
            var clock = Stopwatch.StartNew();
            var (status, body) = await Post(t.IngestKey, Batch(Event("awake", "a1"), Event("stuck", "s1"), Event("awake", "a2")));
            clock.Elapsed.ShouldBeLessThan(AnsweredWithin);
            status.ShouldBe(200);
            var results = body["results"]!.AsArray();
            results.Select(r => (string)r!["status"]!).ShouldBe(["accepted", "retry", "accepted"]);
            results[1]!["error"]!["code"]!.GetValue<string>().ShouldBe("unavailable");
            results[1]!["idempotency_key"]!.GetValue<string>().ShouldBe("s1");
            // Retry counts in none of the totals.
            (body["accepted"]!.GetValue<int>(), body["duplicates"]!.GetValue<int>(), body["rejected"]!.GetValue<int>()).ShouldBe((2, 0, 0));

            // A request whose every event would be retry is a 503 with Retry-After instead.
            clock.Restart();
            var alone = await Fixture.Send(HttpMethod.Post, "/v1/events", t.IngestKey, Batch(Event("stuck", "s2")));
            clock.Elapsed.ShouldBeLessThan(AnsweredWithin);
            ((int)alone.StatusCode).ShouldBe(503);
            alone.Headers.RetryAfter.ShouldNotBeNull();
            JsonNode.Parse(await alone.Content.ReadAsStringAsync())!["error"]!["code"]!.GetValue<string>().ShouldBe("outcome_unknown");

            // Reads of that user end too: 503 with Retry-After within the read deadline, not Orleans' response timeout.
            clock.Restart();
            var read = await Fixture.Send(HttpMethod.Get, "/v1/users/stuck/stats", t.ReadKey);
            clock.Elapsed.ShouldBeLessThan(TimeSpan.FromMilliseconds(2_000 + 900));
            ((int)read.StatusCode).ShouldBe(503);
            read.Headers.RetryAfter.ShouldNotBeNull();
        }

        // The grain answers again: the same request, sent again, applies each event exactly once.
        var again = await Eventually.WaitFor(
            () => Post(t.IngestKey, Batch(Event("awake", "a1"), Event("stuck", "s1"), Event("awake", "a2"), Event("stuck", "s2"))),
            r => r.Status == 200 && r.Body["results"]!.AsArray().All(x => (string)x!["status"]! != "retry"),
            TimeSpan.FromSeconds(30), "the stuck user's grain answering");
        again.Body["results"]!.AsArray().Select(r => (string)r!["status"]!).ShouldBe(["duplicate", "accepted", "duplicate", "accepted"]);
        var stats = (await Get(t.ReadKey, "/v1/users/stuck/stats")).Body!;
        stats["actions"]!.GetValue<long>().ShouldBe(2);
        (await Fixture.Db.ScalarAsync<long>("SELECT count(*) FROM user_action_events WHERE tenant_id = @t", ("t", t.Id))).ShouldBe(5);
    }

    [Fact]
    public async Task a_stats_read_does_not_wait_for_the_users_write_in_flight()
    {
        var t = await Fixture.CreateTenantAsync();
        (await Post(t.IngestKey, Batch(Event("writer", "w1")))).Status.ShouldBe(200);
        Task<(int Status, JsonObject Body)> write;
        // A commit claims each key in event_dedup: a transaction holding an uncommitted claim of the key stops this user's
        // next write inside its commit (it waits to see whether the claim commits), with the grain waiting in its call.
        await using (await HoldKeyAsync(t.Id, "w2"))
        {
            write = Post(t.IngestKey, Batch(Event("writer", "w2")));
            await Eventually.WaitFor(() => Fixture.Db.ScalarAsync<long>(
                    "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid) WHERE NOT l.granted AND a.datname = current_database()"),
                waiting => waiting > 0, TimeSpan.FromSeconds(10), "the write's commit to wait on the held key");
            var clock = Stopwatch.StartNew();
            var (status, stats) = await Get(t.ReadKey, "/v1/users/writer/stats");
            clock.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(1), "a read waiting for the commit would take the read deadline (2 s) and answer 503");
            status.ShouldBe(200);
            stats!["actions"]!.GetValue<long>().ShouldBe(1, "the write in flight is not acknowledged, so the read does not show it");
        }
        await write;
        // Once the commit goes through the write is applied (sent again if it was answered retry at its deadline).
        await Eventually.WaitFor(() => Post(t.IngestKey, Batch(Event("writer", "w2"))),
            r => r.Status == 200 && r.Body["results"]!.AsArray().All(x => (string)x!["status"]! != "retry"), TimeSpan.FromSeconds(30), "the write to go through");
        (await Get(t.ReadKey, "/v1/users/writer/stats")).Body!["actions"]!.GetValue<long>().ShouldBe(2);
    }

    /// <summary>Claims an idempotency key in a transaction of its own, left open until disposed (then rolled back).</summary>
    private Task<IAsyncDisposable> HoldKeyAsync(string tenant, string key) =>
        HoldAsync("INSERT INTO event_dedup (tenant_id, idempotency_key) VALUES (@t, @k)", ("t", tenant), ("k", key));

    /// <summary>Holds a lock on the user's epoch row, which every activation of the user takes before it reads the log: the
    /// user's grain cannot activate (nor answer) until the returned handle is disposed. Only a user never activated before can
    /// be held this way; the row is made for it here.</summary>
    private async Task<IAsyncDisposable> HoldActivationAsync(string tenant, string user)
    {
        await Fixture.Db.ExecuteAsync($"INSERT INTO user_epochs (tenant_id, user_id, epoch) VALUES ('{tenant}', '{user}', 1)");
        return await HoldAsync("SELECT 1 FROM user_epochs WHERE tenant_id = @t AND user_id = @u FOR UPDATE", ("t", tenant), ("u", user));
    }

    /// <summary>Runs a statement in a transaction of its own and keeps the transaction (and its locks) open until disposed.</summary>
    private async Task<IAsyncDisposable> HoldAsync(string sql, params (string Name, object Value)[] parameters)
    {
        var connection = new NpgsqlConnection(Fixture.Db.ConnectionString);
        await connection.OpenAsync();
        var transaction = await connection.BeginTransactionAsync();
        await using (var command = new NpgsqlCommand(sql, connection, transaction))
        {
            foreach (var (name, value) in parameters) command.Parameters.AddWithValue(name, value);
            await command.ExecuteNonQueryAsync();
        }
        return new Held(connection, transaction);
    }

    private sealed class Held(NpgsqlConnection connection, NpgsqlTransaction transaction) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await transaction.RollbackAsync();
            await connection.DisposeAsync();
        }
    }
}
