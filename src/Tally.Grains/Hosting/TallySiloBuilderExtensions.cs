using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Serialization;
using Orleans.Storage;
using Tally.Postgres.Hosting;

namespace Tally.Grains.Hosting;

public static class TallySiloBuilderExtensions
{
    /// <summary>
    /// Everything a Tally silo needs besides clustering: PostgreSQL access, the event-log writer,
    /// grain options and ADO.NET grain storage for user state.
    /// </summary>
    public static ISiloBuilder AddTally(this ISiloBuilder silo, IConfiguration configuration)
    {
        silo.Services.AddTallyPostgres(configuration);
        silo.Services.AddTallyEventLog(configuration);
        silo.Services.AddOptions<UserGrainOptions>().Bind(configuration.GetSection(UserGrainOptions.Section)).ValidateOnStart();
        silo.Services.AddSingleton<IValidateOptions<UserGrainOptions>, UserGrainOptionsValidator>();
        var connectionString = PostgresOptions.ConnectionStringFrom(configuration);
        silo.AddAdoNetGrainStorage(TallyStorage.Name, (OptionsBuilder<AdoNetGrainStorageOptions> storage) => storage.Configure<Serializer>((o, serializer) =>
        {
            o.Invariant = PostgresOptions.AdoNetInvariant;
            o.ConnectionString = connectionString;
            // Orleans' binary serializer rather than the JSON default: user state is already a compact
            // byte[]; JSON would base64 it and cost CPU on every activation and save.
            o.GrainStorageSerializer = new OrleansGrainStorageSerializer(serializer);
        }));
        return silo;
    }
}
