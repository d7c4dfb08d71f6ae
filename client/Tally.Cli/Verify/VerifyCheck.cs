using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;
using Npgsql;
using Spectre.Console;
using Tally.Postgres.EventLog;

namespace Tally.Cli.Verify;

/// <summary>
/// <c>tally verify check</c>: proves what <c>tally verify run</c> left behind. From the log (PostgreSQL):
/// every sent key was acknowledged (answered anything but <c>retry</c>), every acknowledged key is there exactly
/// once, no key that was never sent is, each row holds what was sent. From the API, against the log: every user's stats, every board (members, each score, the order)
/// and every rollup. Derived figures converge after the ack, so those are retried until equal or until
/// <c>--within</c>; whatever still differs is listed and the exit code is 1.
/// </summary>
internal static class VerifyCheck
{
    internal sealed record Settings(string Directory, int WithinSeconds);

    private sealed record Sent(string Key, string User, decimal Co2, string? Country);

    public static async Task<int> RunAsync(CliContext context, Settings s)
    {
        var tenantInfo = JsonNode.Parse(File.ReadAllText(Path.Combine(s.Directory, "tenant.json")))!;
        var tenant = (string)tenantInfo["tenant"]!;
        var readKey = (string)tenantInfo["read_key"]!;
        var sent = File.ReadLines(Path.Combine(s.Directory, "workload.ndjson"))
            .Select(line => JsonSerializer.Deserialize<JsonObject>(line)!)
            .Select(o => new Sent((string)o["key"]!, (string)o["user"]!, (decimal)o["co2"]!, (string?)o["country"]))
            .ToDictionary(e => e.Key);
        var acked = File.ReadLines(Path.Combine(s.Directory, "acks.ndjson"))
            .Select(line => (string)JsonNode.Parse(line)!["key"]!).ToHashSet(StringComparer.Ordinal);

        var results = new List<(string Check, bool Ok, string Detail)>();
        await using var db = NpgsqlDataSource.Create(context.Postgres);
        var audit = new EventLogAudit(db);
        var log = (await audit.KeysAsync(tenant, "co2", "country"))
            .ToDictionary(k => k.Key, k => (Count: k.Rows, User: k.UserId, Co2: k.Measure, Country: k.Dimension), StringComparer.Ordinal);

        // The workload sends every event until it is acknowledged (an event answered `retry` is not): one left over
        // means the run was cut short, and the log cannot be proven against it.
        var unacknowledged = sent.Keys.Where(k => !acked.Contains(k)).ToList();
        results.Add(("every sent key was acknowledged", unacknowledged.Count == 0, $"{sent.Count:N0} sent, {unacknowledged.Count} never acknowledged {Sample(unacknowledged)}"));
        var missing = acked.Where(k => !log.ContainsKey(k)).ToList();
        results.Add(("every acknowledged key is in the log", missing.Count == 0, $"{acked.Count:N0} acknowledged, {missing.Count} missing {Sample(missing)}"));
        var doubled = log.Where(e => e.Value.Count != 1).Select(e => e.Key).ToList();
        results.Add(("no key is in the log twice", doubled.Count == 0, $"{log.Count:N0} keys in the log, {doubled.Count} more than once {Sample(doubled)}"));
        var unsent = log.Keys.Where(k => !sent.ContainsKey(k)).ToList();
        results.Add(("no key that was never sent is in the log", unsent.Count == 0, $"{unsent.Count} unsent {Sample(unsent)}"));
        var altered = log.Where(e => sent.TryGetValue(e.Key, out var x) && (x.User != e.Value.User || x.Co2 != e.Value.Co2 || x.Country != e.Value.Country))
            .Select(e => e.Key).ToList();
        results.Add(("every logged event holds what was sent", altered.Count == 0, $"{altered.Count} differ {Sample(altered)}"));
        var dedup = await audit.DedupKeysAsync(tenant);
        results.Add(("the dedup table has exactly the logged keys", dedup == log.Count, $"{dedup:N0} dedup keys, {log.Count:N0} logged"));

        // The reference every derived figure must equal: the log itself.
        var events = log.Where(e => sent.ContainsKey(e.Key)).Select(e => (e.Value.User, e.Value.Co2, e.Value.Country)).ToList();
        using var http = new HttpClient { BaseAddress = new Uri(context.Url), Timeout = TimeSpan.FromSeconds(30) };
        var derived = await ConvergeAsync(() => CompareDerivedAsync(http, readKey, events), TimeSpan.FromSeconds(s.WithinSeconds));
        results.AddRange(derived);
        // The feed announces every tier entry and completion once (completions are recorded just after their ack).
        var changes = new Tally.Postgres.Changes.ChangeStore(db);
        results.AddRange(await ConvergeAsync(async () => FeedResults(await changes.AuditAsync(tenant)), TimeSpan.FromSeconds(s.WithinSeconds)));

        var table = new Table().AddColumn("check").AddColumn("result").AddColumn("detail");
        foreach (var (check, ok, detail) in results) table.AddRow(Markup.Escape(check), ok ? "[green]ok[/]" : "[red]FAILED[/]", Markup.Escape(detail));
        AnsiConsole.Write(table);
        var failed = results.Count(r => !r.Ok);
        AnsiConsole.MarkupLine(failed == 0 ? "[green]verify check: every check passed[/]" : $"[red]verify check: {failed} checks failed[/]");
        return failed == 0 ? TallyCli.Success : TallyCli.Failed;
    }

    private static async Task<List<(string, bool, string)>> ConvergeAsync(Func<Task<List<(string, bool, string)>>> compare, TimeSpan within)
    {
        var deadline = DateTime.UtcNow + within;
        while (true)
        {
            List<(string, bool, string)> outcome;
            try
            {
                outcome = await compare();
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or CliException)
            {
                outcome = [("the API answers reads", false, ex.Message)];
            }
            if (outcome.All(r => r.Item2) || DateTime.UtcNow > deadline) return outcome;
            await Task.Delay(1000);
        }
    }

    private static async Task<List<(string, bool, string)>> CompareDerivedAsync(HttpClient http, string readKey, List<(string User, decimal Co2, string? Country)> events)
    {
        var results = new List<(string, bool, string)>();
        var byUser = events.GroupBy(e => e.User).ToDictionary(g => g.Key, g => (Sum: g.Sum(e => e.Co2), Count: g.Count()));
        var statsWrong = new List<string>();
        foreach (var (user, expected) in byUser)
        {
            var stats = await GetAsync(http, readKey, $"/v1/users/{user}/stats");
            var co2 = stats?["measures"]?["co2"];
            if (co2 is null || (decimal)co2["all_time"]! != expected.Sum || (long)stats!["actions"]! != expected.Count)
                statsWrong.Add($"{user} (api {co2?["all_time"]}, log {expected.Sum})");
        }
        results.Add(("every user's stats equal the log", statsWrong.Count == 0, $"{byUser.Count} users, {statsWrong.Count} differ {Sample(statsWrong)}"));

        foreach (var scope in new[] { "global" }.Concat(VerifyWorkload.Countries.Select(c => "country:" + c)))
        {
            var inScope = scope == "global" ? events : events.Where(e => "country:" + e.Country == scope).ToList();
            var expected = inScope.GroupBy(e => e.User).ToDictionary(g => g.Key, g => g.Sum(e => e.Co2), StringComparer.Ordinal);
            var page = await GetAsync(http, readKey, $"/v1/leaderboards/co2?scope={scope}&period=all_time&limit=1000");
            var entries = page?["entries"]?.AsArray() ?? [];
            var wrong = new List<string>();
            var members = (long?)page?["members"] ?? -1;
            if (members != expected.Count) wrong.Add($"members api {members}, log {expected.Count}");
            decimal? previous = null;
            foreach (var entry in entries)
            {
                var user = (string)entry!["user_id"]!;
                var score = (decimal)entry["score"]!;
                if (!expected.TryGetValue(user, out var want) || want != score) wrong.Add($"{user} api {score}, log {(expected.TryGetValue(user, out var w) ? w : null)}");
                if (previous is { } p && score > p) wrong.Add($"{user} ranked below a lower score");
                previous = score;
            }
            results.Add(($"the {scope} board equals the log", wrong.Count == 0, $"{expected.Count} members, {wrong.Count} differences {Sample(wrong)}"));

            var rollup = await GetAsync(http, readKey, $"/v1/rollups/co2?scope={scope}&period=all_time");
            var total = inScope.Sum(e => e.Co2);
            var ok = rollup is not null && (decimal)rollup["total"]! == total && (long)rollup["users"]! == expected.Count && (long)rollup["actions"]! == inScope.Count;
            results.Add(($"the {scope} rollup equals the log", ok,
                $"api total {rollup?["total"]}, users {rollup?["users"]}, actions {rollup?["actions"]}; log {total}, {expected.Count}, {inScope.Count}"));
        }
        return results;
    }

    private static List<(string, bool, string)> FeedResults(Tally.Postgres.Changes.FeedAudit a) =>
    [
        ("every tier entry is in the feed once", a.TierEntries > 0 && a.TierEntriesWithoutOneChange == 0 && a.TierChanges == a.TierEntries,
            $"{a.TierEntries:N0} entries, {a.TierChanges:N0} tier changes, {a.TierEntriesWithoutOneChange} without exactly one"),
        ("every goal completion is in the feed once", a.Completions > 0 && a.CompletionsWithoutOneChange == 0 && a.GoalChanges == a.Completions,
            $"{a.Completions:N0} completions, {a.GoalChanges:N0} goal changes, {a.CompletionsWithoutOneChange} without exactly one"),
        ("the feed's numbers have no gap", a.MissingNumbers == 0, $"{a.MissingNumbers} missing"),
    ];

    private static async Task<JsonNode?> GetAsync(HttpClient http, string key, string path)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        using var response = await http.SendAsync(request);
        if (response.StatusCode == System.Net.HttpStatusCode.NotFound) return null;
        if (!response.IsSuccessStatusCode) throw new CliException($"GET {path}: {(int)response.StatusCode}");
        return JsonNode.Parse(await response.Content.ReadAsStringAsync());
    }

    private static string Sample(IEnumerable<string> items)
    {
        var first = items.Take(5).ToList();
        return first.Count == 0 ? "" : "(" + string.Join("; ", first) + (items.Skip(5).Any() ? "; ..." : "") + ")";
    }
}
