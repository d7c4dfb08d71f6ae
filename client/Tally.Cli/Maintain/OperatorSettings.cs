using Microsoft.Extensions.Configuration;
using Tally.Postgres.Lifecycle;

namespace Tally.Cli.Maintain;

/// <summary>Silo settings a maintenance command needs, read as the silos read them: from environment variables
/// (<c>Tally__Export__Credentials__acme__AccessKey</c>), so the CronJob or timer shares the silos' Secret or env file.</summary>
internal static class OperatorSettings
{
    private static IConfiguration Environment() => new ConfigurationBuilder().AddEnvironmentVariables().Build();

    /// <summary>The S3 credential sets tenants' sinks may name.</summary>
    public static Dictionary<string, S3CredentialSet> ExportCredentials()
    {
        var options = new ExportOptions();
        Environment().GetSection(ExportOptions.Section).GetSection("Credentials").Bind(options.Credentials);
        return options.Credentials;
    }

    /// <summary><c>Tally:Boards:ReconcileLagSeconds</c> (30): events younger than this may belong to commits in flight.</summary>
    public static int ReconcileLagSeconds() => Math.Max(0, Environment().GetValue<int?>("Tally:Boards:ReconcileLagSeconds") ?? 30);
}
