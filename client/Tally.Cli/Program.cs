using Tally.Cli;

return await TallyCli.RunAsync(args);
