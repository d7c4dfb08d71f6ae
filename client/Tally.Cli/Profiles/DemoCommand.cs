using System.CommandLine;
using System.Text.Json.Nodes;
using Spectre.Console;
using Tally.Cli.Bench;
using Tally.Cli.Loading;

namespace Tally.Cli.Profiles;

/// <summary>
/// <c>tally demo --profile NAME</c>: creates (or updates) the profile's tenant, loads its synthetic events through
/// the HTTP API with a progress bar, and prints requests to try with a new read key (stats, boards, rollups, goals).
/// </summary>
internal static class DemoCommand
{
    internal sealed record Settings(string Profile, string? Tenant, int Users, int? Days, DateTimeOffset? Until, int Batch, int Concurrency);

    public static Command Build()
    {
        var profile = new Option<string>("--profile") { Description = "The seed system: " + string.Join(", ", SeedProfiles.Names) + ".", Required = true };
        profile.AcceptOnlyFromAmong([.. SeedProfiles.Names]);
        var tenant = new Option<string?>("--tenant") { Description = "Tenant id (default: the profile's name)." };
        var users = TallyCli.Positive("--users", 200, "Users to make events for.");
        var days = new Option<int?>("--days") { Description = "Days of history, ending today (default per profile: climate 30, learning 30, analytics 14, loyalty 150, events_log 14)." };
        TallyCli.Require(days, d => d is null or > 0, "--days must be a positive whole number.");
        var until = new Option<DateTimeOffset?>("--until") { Description = "The instant the history ends (RFC 3339; default now): the same value makes the same events, times included." };
        var (batch, concurrency) = EventUploader.Options("Events");
        var command = new Command("demo", "Load a seed system's tenant config and realistic synthetic events; a rerun adds nothing.")
        {
            profile, tenant, users, days, until, batch, concurrency,
        };
        command.SetAction((parse, ct) => RunAsync(new CliContext(parse), new Settings(
            parse.GetValue(profile)!, parse.GetValue(tenant), parse.GetValue(users), parse.GetValue(days), parse.GetValue(until), parse.GetValue(batch), parse.GetValue(concurrency)), ct));
        return command;
    }

    public static async Task<int> RunAsync(CliContext context, Settings s, CancellationToken ct)
    {
        var profile = SeedProfiles.Get(s.Profile);
        var tenant = s.Tenant ?? profile.Name;
        var days = s.Days ?? profile.DefaultDays;
        if (days >= profile.RetentionDays())
            throw new CliException($"--days {days} reaches past the {profile.Name} profile's raw retention ({profile.RetentionDays()} days): events that old are rejected.");
        var now = s.Until?.ToUniversalTime() ?? DateTimeOffset.UtcNow;
        var total = DemoWorkload.Events(profile.Name, s.Users, days, now).LongCount();
        Console.WriteLine($"tally demo: profile {profile.Name} ({profile.Summary})");
        Console.WriteLine($"tenant {tenant}: {s.Users:N0} users, {days} days, {total:N0} events");

        using var http = new HttpClient { BaseAddress = new Uri(context.Url), Timeout = TimeSpan.FromMinutes(2) };
        var admin = new TenantAdmin(http, context.AdminKey);
        await admin.PutConfigAsync(tenant, profile.Config());
        var (ingestKeyId, ingestKey) = await admin.MintKeyAsync(tenant, "ingest");
        // events_log is a tracking script's raw events: they go where a script sends them.
        var raw = profile.Name == "events_log";
        var uploader = new EventUploader(http, ingestKey, s.Concurrency) { Path = raw ? "/v1/collect" : "/v1/events" };
        try
        {
            var batches = DemoWorkload.Events(profile.Name, s.Users, days, now).Chunk(s.Batch);
            var rejected = new List<string>();
            var work = uploader.UploadAsync(batches, b => b, (batch, outcomes) =>
            {
                for (var i = 0; i < outcomes.Length; i++)
                    if (outcomes[i].Status == "rejected")
                        lock (rejected) rejected.Add($"{batch[i][raw ? "event_id" : "idempotency_key"]}: {outcomes[i].Field} {outcomes[i].Code}: {outcomes[i].Message}");
            }, ct);
            await Bench.Progress.Track("events", () => uploader.Done, total, work);
            foreach (var line in rejected.Take(20)) AnsiConsole.MarkupLineInterpolated($"[red]rejected[/] {line}");
        }
        finally
        {
            await admin.RevokeKeyAsync(tenant, ingestKeyId); // the load's own key: not left behind
        }

        var table = new Table().AddColumns("events", "accepted", "duplicates (already loaded)", "rejected");
        table.AddRow($"{total:N0}", $"{uploader.Accepted:N0}", $"{uploader.Duplicates:N0}", $"{uploader.Rejected:N0}");
        AnsiConsole.Write(table);

        var (_, readKey) = await admin.MintKeyAsync(tenant, "read");
        Console.WriteLine();
        Console.WriteLine($"Try these (a new read key of tenant {tenant}; boards and rollups follow within about a second):");
        foreach (var path in profile.ExampleRequests(DemoWorkload.UserId(profile.Name, 1)))
            Console.WriteLine($"  curl -s -H 'Authorization: Bearer {readKey}' '{context.Url.TrimEnd('/')}{path}'");
        return uploader.Rejected == 0 ? TallyCli.Success : TallyCli.Failed;
    }
}
