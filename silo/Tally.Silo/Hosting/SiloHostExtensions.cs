using System.Net;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Dashboard;
using Tally.Grains.Hosting;
using Tally.Observability;
using Tally.Postgres.Hosting;

namespace Tally.Silo.Hosting;

public static class SiloHostExtensions
{
    /// <summary>A production silo: ADO.NET clustering and reminders on PostgreSQL, Tally grains, the dashboard.</summary>
    public static WebApplicationBuilder AddTallySilo(this WebApplicationBuilder builder)
    {
        var config = builder.Configuration;
        var silo = config.GetSection(SiloOptions.Section).Get<SiloOptions>() ?? new SiloOptions();
        var validation = new SiloOptionsValidator().Validate(null, silo);
        if (validation.Failed) throw new OptionsValidationException(SiloOptions.Section, typeof(SiloOptions), [validation.FailureMessage]);
        var connectionString = PostgresOptions.ConnectionStringFrom(config);
        builder.AddTallyObservability("tally-silo");

        builder.UseOrleans(orleans =>
        {
            orleans.AddTally(config);
            if (InKubernetes)
            {
                // Pod name, namespace and IP from the downward API (POD_NAME, POD_NAMESPACE, POD_IP), cluster and service
                // ids from ORLEANS_CLUSTER_ID / ORLEANS_SERVICE_ID; silos whose pods are gone are declared dead at once.
                // Membership itself stays in PostgreSQL: log commits are fenced by it (decision 013).
                orleans.UseKubernetesHosting();
                orleans.Configure<EndpointOptions>(o =>
                {
                    o.SiloPort = silo.SiloPort;
                    o.GatewayPort = silo.GatewayPort;
                });
            }
            else
            {
                orleans.Configure<ClusterOptions>(o =>
                {
                    o.ClusterId = silo.ClusterId;
                    o.ServiceId = silo.ServiceId;
                });
                orleans.ConfigureEndpoints(IPAddress.Parse(silo.AdvertisedAddress), silo.SiloPort, silo.GatewayPort, listenOnAnyHostAddress: false);
            }
            // A silo that stops answering (a long pause, a partition) is declared dead in seconds, not a minute: its users'
            // calls fail fast and their grains come back elsewhere (decision 029 weighs this against false suspicions).
            orleans.Configure<ClusterMembershipOptions>(o =>
            {
                o.ProbeTimeout = TimeSpan.FromMilliseconds(silo.ProbeTimeoutMs);
                o.MaxProbeTimeout = TimeSpan.FromMilliseconds(silo.MaxProbeTimeoutMs);
                o.NumMissedProbesLimit = silo.MissedProbesLimit;
                o.NumVotesForDeathDeclaration = silo.DeathVotes;
                // Direct probes only. An indirect probe's failure is ignored when its intermediary is degraded, and a probe
                // request the intermediary does not answer in time is ignored too: on two busy cores a paused silo was then
                // never voted dead. Busy-but-alive silos are kept from false suspicion by Orleans withholding votes while
                // their connection carries messages (decision 029).
                o.EnableIndirectProbes = false;
            });
            orleans.UseTallyAdoNet(connectionString);
            orleans.AddDashboard(o => o.CounterUpdateIntervalMs = silo.DashboardCounterIntervalSeconds * 1000);
        });
        // Registered after the dashboard's host, so it starts after it and can replace its one-second reader.
        builder.Services.AddSingleton(sp => new DashboardMetricsReader(sp, silo.DashboardCounterIntervalSeconds, sp.GetRequiredService<ILogger<DashboardMetricsReader>>()));
        builder.Services.AddHostedService(sp => sp.GetRequiredService<DashboardMetricsReader>());
        return builder;
    }

    /// <summary>Membership and reminders in PostgreSQL, on the project's own migrations (decisions 002, 011, 013). Test silos use it too.</summary>
    public static ISiloBuilder UseTallyAdoNet(this ISiloBuilder orleans, string connectionString) => orleans
        .UseAdoNetClustering(o =>
        {
            o.Invariant = PostgresOptions.AdoNetInvariant;
            o.ConnectionString = connectionString;
        })
        .UseAdoNetReminderService(o =>
        {
            o.Invariant = PostgresOptions.AdoNetInvariant;
            o.ConnectionString = connectionString;
        });

    /// <summary>Running in a Kubernetes pod set up as deploy/k8s does (the downward API gives the pod's name).</summary>
    private static bool InKubernetes =>
        !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("KUBERNETES_SERVICE_HOST")) && !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("POD_NAME"));

    public static WebApplication MapTallySiloEndpoints(this WebApplication app)
    {
        var silo = app.Configuration.GetSection(SiloOptions.Section).Get<SiloOptions>() ?? new SiloOptions();
        if (!silo.DashboardAllowRemote)
            app.Use((context, next) =>
            {
                // /metrics and /health are for scrapers and probes on the network; the dashboard is for operators on this host.
                if (context.Request.Path.StartsWithSegments("/dashboard") && context.Connection.RemoteIpAddress is { } remote && !IPAddress.IsLoopback(remote))
                {
                    context.Response.StatusCode = StatusCodes.Status404NotFound;
                    return Task.CompletedTask;
                }
                return next(context);
            });
        app.MapGet("/health/live", () => Results.Ok(new { status = "live" }));
        // Ready once this silo is an active member of the cluster (it takes grain calls); 503 while joining or leaving.
        app.MapGet("/health/ready", (ISiloStatusOracle oracle) => oracle.CurrentStatus == SiloStatus.Active
            ? Results.Ok(new { status = "ready" })
            : Results.Json(new { status = oracle.CurrentStatus.ToString().ToLowerInvariant() }, statusCode: StatusCodes.Status503ServiceUnavailable));
        app.MapTallyMetrics();
        app.MapOrleansDashboard("/dashboard");
        return app;
    }
}
