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
        var drain = TallyCli.Positive("--drain-seconds", 180, "Most seconds to keep retrying after sending stopped before giving up.");
        var stopFile = new Option<string?>("--stop-file") { Description = "Stop sending new batches once this file exists (or after --seconds, whichever is first)." };
        var run = new Command("run", "Post and read for --seconds while faults happen, retrying each batch, and each event answered retry, with its keys until acknowledged.")
        {
            tenant, users, batch, concurrency, seconds, drain, stopFile, Directory,
        };
        run.SetAction((parse, _) => VerifyWorkload.RunAsync(new CliContext(parse), new VerifyWorkload.Settings(
            parse.GetValue(tenant)!, parse.GetValue(users), parse.GetValue(batch), parse.GetValue(concurrency), parse.GetValue(seconds),
            parse.GetValue(drain), parse.GetValue(Directory)!, parse.GetValue(stopFile))));

        var within = TallyCli.Positive("--within", 120, "Seconds the derived figures (stats, boards, rollups) may take to converge.");
        var check = new Command("check", "Every acknowledged key in the log exactly once, nothing unsent, stats, boards and rollups equal to the log.")
        {
            within, Directory,
        };
        check.SetAction((parse, _) => VerifyCheck.RunAsync(new CliContext(parse), new VerifyCheck.Settings(parse.GetValue(Directory)!, parse.GetValue(within))));

        var maxSeconds = TallyCli.Positive("--max-seconds", 20, "Longest answer allowed (the API's cluster call timeout is 15 s by default).");
        var bounds = new Option<bool>("--bounds") { Description = "Also check each fault of fault-windows.csv (written by deploy/local/faults) against the recovery bounds below." };
        var answerMs = TallyCli.Positive("--answer-bound-ms", 2500, "With --bounds: longest ingest answer from a fault's start until all silos are active again.");
        var sliceSeconds = TallyCli.Positive("--slice-seconds", 5, "With --bounds: every slice of this many seconds of a fault has an ingest answered with accepted events.");
        var resumeSeconds = TallyCli.Positive("--resume-seconds", 20, "With --bounds: no ingest request sent this long after a fault's start (while it lasts) fails.");
        var deadSeconds = TallyCli.Positive("--dead-seconds", 15, "With --bounds: the sick silo is declared dead in the membership table within this many seconds.");
        var report = new Command("report", "How each fault in faults.log looked to the workload's requests; fails on a 5xx other than 503, a slow answer, or (--bounds) a missed recovery bound.")
        {
            maxSeconds, bounds, answerMs, sliceSeconds, resumeSeconds, deadSeconds, Directory,
        };
        report.SetAction(parse => VerifyReport.Run(new VerifyReport.Settings(parse.GetValue(Directory)!, parse.GetValue(maxSeconds),
            parse.GetValue(bounds)
                ? new RecoveryBounds(parse.GetValue(answerMs), parse.GetValue(sliceSeconds), parse.GetValue(resumeSeconds), parse.GetValue(deadSeconds))
                : null)));

        verify.Subcommands.Add(run);
        verify.Subcommands.Add(Overload());
        verify.Subcommands.Add(check);
        verify.Subcommands.Add(report);
        return verify;
    }

    private static Command Overload()
    {
        var tenant = new Option<string>("--tenant") { Description = "Tenant to create (or reuse) for the load.", DefaultValueFactory = _ => "overload" };
        var users = TallyCli.Positive("--users", 20_000, "Distinct users.");
        var batch = TallyCli.Positive("--batch", 500, "Events per request.");
        var warmUp = TallyCli.Positive("--warm-up-seconds", 5, "Seconds of closed loop before measuring (JIT, connections, first activations).");
        var sustain = TallyCli.Positive("--sustain-seconds", 15, "Seconds of closed loop that measure the sustainable rate and its p99.");
        var connections = TallyCli.Positive("--connections", 8, "Connections of the closed loops.");
        var factor = new Option<double>("--factor") { Description = "The overload's rate as a multiple of the sustainable one.", DefaultValueFactory = _ => 4 };
        TallyCli.Require(factor, value => value > 1, "--factor must be more than 1.");
        var seconds = TallyCli.Positive("--overload-seconds", 30, "Seconds of open-loop overload.");
        var maxConnections = TallyCli.Positive("--max-connections", 1000, "Most requests outstanding during the overload (one connection each).");
        var probe = TallyCli.Positive("--probe-seconds", 10, "Seconds of closed loop after the overload whose p99 must be back to normal.");
        var answerMs = TallyCli.Positive("--answer-bound-ms", 2000, "Longest answer allowed during the overload.");
        var minShare = TallyCli.Positive("--min-share", 80, "Accepted events/s during the overload, in percent of the sustainable rate, at least.");
        var probeFactor = new Option<double>("--probe-factor") { Description = "The probe's p99 must be under this multiple of the sustainable phase's p99.", DefaultValueFactory = _ => 2 };
        TallyCli.Require(probeFactor, value => value > 0, "--probe-factor must be positive.");
        var command = new Command("overload", "Offer several times the sustainable ingest rate: answers (200, or 429/503 with Retry-After) within a bound, throughput kept, latency back after.")
        {
            tenant, users, batch, warmUp, sustain, connections, factor, seconds, maxConnections, probe, answerMs, minShare, probeFactor,
        };
        command.SetAction((parse, _) => VerifyOverload.RunAsync(new CliContext(parse), new VerifyOverload.Settings(
            parse.GetValue(tenant)!, parse.GetValue(users), parse.GetValue(batch), parse.GetValue(warmUp), parse.GetValue(sustain), parse.GetValue(connections),
            parse.GetValue(factor), parse.GetValue(seconds), parse.GetValue(maxConnections), parse.GetValue(probe), parse.GetValue(answerMs),
            parse.GetValue(minShare), parse.GetValue(probeFactor))));
        return command;
    }
}
