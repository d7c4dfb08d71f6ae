using System.CommandLine;

namespace Tally.Cli.Verify;

/// <summary><c>tally verify run|check|report</c>: the fault checker (deploy/local/faults injects the faults around it).</summary>
internal static class VerifyCommands
{
    private static readonly Option<string> Directory = new("--dir") { Description = "Where the workload, acknowledgements and request log are kept.", DefaultValueFactory = _ => ".tally/verify" };

    public static Command Build()
    {
        var verify = new Command("verify", "Prove that acknowledged events survive faults: a journaled workload, then a check against the log.");

        var tenant = new Option<string>("--tenant") { Description = "Tenant to create (or reuse) for the workload.", DefaultValueFactory = _ => "verify" };
        var users = TallyCli.Positive("--users", 200, "Distinct users.");
        var batch = TallyCli.Positive("--batch", 20, "Events per request.");
        var concurrency = TallyCli.Positive("--concurrency", 4, "Concurrent writers.");
        var seconds = TallyCli.Positive("--seconds", 60, "Seconds of new batches; then unacknowledged ones are retried until acknowledged.");
        var drain = TallyCli.Positive("--drain-seconds", 180, "Most seconds to keep retrying after --seconds before giving up.");
        var run = new Command("run", "Post and read for --seconds while faults happen, retrying each batch with its keys until acknowledged.")
        {
            tenant, users, batch, concurrency, seconds, drain, Directory,
        };
        run.SetAction((parse, _) => VerifyWorkload.RunAsync(new CliContext(parse), new VerifyWorkload.Settings(
            parse.GetValue(tenant)!, parse.GetValue(users), parse.GetValue(batch), parse.GetValue(concurrency), parse.GetValue(seconds),
            parse.GetValue(drain), parse.GetValue(Directory)!)));

        var within = TallyCli.Positive("--within", 120, "Seconds the derived figures (stats, boards, rollups) may take to converge.");
        var check = new Command("check", "Every acknowledged key in the log exactly once, nothing unsent, stats, boards and rollups equal to the log.")
        {
            within, Directory,
        };
        check.SetAction((parse, _) => VerifyCheck.RunAsync(new CliContext(parse), new VerifyCheck.Settings(parse.GetValue(Directory)!, parse.GetValue(within))));

        var maxSeconds = TallyCli.Positive("--max-seconds", 20, "Longest answer allowed (the API's cluster call timeout is 15 s by default).");
        var report = new Command("report", "How each fault in faults.log looked to the workload's requests; fails on a 5xx other than 503 or a slow answer.")
        {
            maxSeconds, Directory,
        };
        report.SetAction(parse => VerifyReport.Run(parse.GetValue(Directory)!, parse.GetValue(maxSeconds)));

        verify.Subcommands.Add(run);
        verify.Subcommands.Add(check);
        verify.Subcommands.Add(report);
        return verify;
    }
}
