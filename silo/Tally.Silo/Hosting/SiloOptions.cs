using Microsoft.Extensions.Options;

namespace Tally.Silo.Hosting;

/// <summary>How this silo joins its cluster. Section <c>Tally:Silo</c>.</summary>
public sealed class SiloOptions
{
    public const string Section = "Tally:Silo";

    /// <summary>Silos and clients with the same cluster id form one cluster (membership in PostgreSQL).</summary>
    public string ClusterId { get; set; } = "tally";

    /// <summary>Identifies the service across deployments; grain state is keyed by it.</summary>
    public string ServiceId { get; set; } = "tally";

    /// <summary>Address other silos and clients use to reach this silo.</summary>
    public string AdvertisedAddress { get; set; } = "127.0.0.1";

    public int SiloPort { get; set; } = 11111;

    public int GatewayPort { get; set; } = 30000;

    /// <summary>Serve the Orleans dashboard (<c>/dashboard</c>) to other hosts. Off: only loopback requests get it (reach it
    /// with an SSH tunnel or <c>kubectl port-forward</c>); turn it on only behind a proxy that authenticates operators.</summary>
    public bool DashboardAllowRemote { get; set; }

    /// <summary>How often the dashboard samples the silo's counters. Each sample walks every activation and the directory
    /// cache; at the dashboard's own one second that took 17% of the silo's CPU during ingest with 60,000 user grains
    /// (<see cref="DashboardMetricsReader"/>, decision 025).</summary>
    public int DashboardCounterIntervalSeconds { get; set; } = 10;

    /// <summary>How long a liveness probe of another silo waits at first; Orleans adapts it to the answers it sees, between
    /// half of this and <see cref="MaxProbeTimeoutMs"/>. Orleans' default is 5 s.</summary>
    public int ProbeTimeoutMs { get; set; } = 2_000;

    /// <summary>The longest a probe may wait, also while this silo is itself degraded (Orleans extends probes then, so a
    /// busy silo does not suspect a healthy one). With <see cref="MissedProbesLimit"/> it bounds how soon a silo that
    /// stops answering (paused, cut off) is voted dead: a silo that sent anything within this times the limit (9 s) is
    /// taken for alive, so a silo that stopped is declared dead about 10 s after its last message. Orleans' default is
    /// four times the probe timeout (20 s, a minute's window).</summary>
    public int MaxProbeTimeoutMs { get; set; } = 3_000;

    /// <summary>Probes in a row a silo may miss before the prober votes it dead (direct probes only, decision 029).</summary>
    public int MissedProbesLimit { get; set; } = 3;

    /// <summary>Votes that declare a silo dead (fewer when the cluster is small: Orleans takes at most half the active silos).</summary>
    public int DeathVotes { get; set; } = 2;

    /// <summary>
    /// Where this silo also serves the HTTP API (for example <c>http://0.0.0.0:8080</c>; several separated by <c>;</c>):
    /// the same endpoints as a <c>client/Tally.Api</c> instance, calling grains inside the process instead of through
    /// the gateway (decision 024). Empty: the silo serves no API, and API instances run as processes of their own.
    /// </summary>
    public string ApiUrls { get; set; } = "";
}

internal sealed class SiloOptionsValidator : IValidateOptions<SiloOptions>
{
    public ValidateOptionsResult Validate(string? name, SiloOptions o)
    {
        if (string.IsNullOrWhiteSpace(o.ClusterId)) return ValidateOptionsResult.Fail($"{SiloOptions.Section}:ClusterId is required.");
        if (string.IsNullOrWhiteSpace(o.ServiceId)) return ValidateOptionsResult.Fail($"{SiloOptions.Section}:ServiceId is required.");
        if (!System.Net.IPAddress.TryParse(o.AdvertisedAddress, out _))
            return ValidateOptionsResult.Fail($"{SiloOptions.Section}:AdvertisedAddress must be an IP address, was '{o.AdvertisedAddress}'.");
        if (o.SiloPort is < 1 or > 65535) return ValidateOptionsResult.Fail($"{SiloOptions.Section}:SiloPort must be 1-65535.");
        if (o.GatewayPort is < 1 or > 65535) return ValidateOptionsResult.Fail($"{SiloOptions.Section}:GatewayPort must be 1-65535.");
        if (o.DashboardCounterIntervalSeconds is < 1 or > 3600)
            return ValidateOptionsResult.Fail($"{SiloOptions.Section}:DashboardCounterIntervalSeconds must be 1-3600, was {o.DashboardCounterIntervalSeconds}.");
        if (o.ProbeTimeoutMs is < 200 or > 60_000)
            return ValidateOptionsResult.Fail($"{SiloOptions.Section}:ProbeTimeoutMs must be 200-60000, was {o.ProbeTimeoutMs}.");
        if (o.MaxProbeTimeoutMs < o.ProbeTimeoutMs || o.MaxProbeTimeoutMs > 300_000)
            return ValidateOptionsResult.Fail($"{SiloOptions.Section}:MaxProbeTimeoutMs must be at least ProbeTimeoutMs ({o.ProbeTimeoutMs}) and at most 300000, was {o.MaxProbeTimeoutMs}.");
        if (o.MissedProbesLimit is < 1 or > 20)
            return ValidateOptionsResult.Fail($"{SiloOptions.Section}:MissedProbesLimit must be 1-20, was {o.MissedProbesLimit}.");
        if (o.DeathVotes is < 1 or > 10)
            return ValidateOptionsResult.Fail($"{SiloOptions.Section}:DeathVotes must be 1-10, was {o.DeathVotes}.");
        foreach (var url in o.ApiUrls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            // Kestrel's "any address" hosts (* and +) are not host names to Uri.
            if (!Uri.TryCreate(url.Replace("://*", "://any").Replace("://+", "://any"), UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
                return ValidateOptionsResult.Fail($"{SiloOptions.Section}:ApiUrls must be http(s) URLs separated by ';', was '{o.ApiUrls}'.");
        return ValidateOptionsResult.Success;
    }
}
