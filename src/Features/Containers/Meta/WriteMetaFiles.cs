using Hive.Shared.Errors;
using MediatR;

namespace Hive.Features.Containers;

/// <summary>
/// Files another slice keeps in the meta repo (the work layer's <c>workflows/*.yaml</c>), written and committed as one
/// commit under <paramref name="Dir"/> (one directory level, a plain name). <c>OnlyMissing</c> writes only files the
/// directory lacks (shipped defaults: an edited file is left as it is). The new <c>main</c>, or null when nothing changed.
/// </summary>
public static class WriteMetaFiles
{
    public sealed record Command(string Dir, IReadOnlyDictionary<string, string> Files, string Message, bool OnlyMissing = false) : IRequest<string?>;

    internal sealed class Handler(MetaRepo meta) : IRequestHandler<Command, string?>
    {
        public async Task<string?> Handle(Command command, CancellationToken cancellationToken)
        {
            if (!IsPlainName(command.Dir) || command.Dir is "agents" or "presets" || command.Files.Keys.Any(n => !IsPlainName(n)))
                throw new BadRequestException("a meta file is a plain name in a plain directory of another slice's own");
            if (command.OnlyMissing)
            {
                await meta.AddMissingFilesAsync(command.Dir, command.Files, command.Message);
                return null;
            }
            return await meta.CommitAsync(async () =>
            {
                var dir = Path.Combine(meta.Dir, command.Dir);
                Directory.CreateDirectory(dir);
                foreach (var (name, text) in command.Files) await File.WriteAllTextAsync(Path.Combine(dir, name), text);
                return [.. command.Files.Keys.Select(n => $"{command.Dir}/{n}")];
            }, command.Message);
        }

        private static bool IsPlainName(string name) =>
            name.Length is > 0 and <= 100 && name[0] != '.' && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.');
    }
}
