import { describe, expect, it } from 'vitest';
import { FirehoseArchiveSink } from '#shared/adapters/archive/firehose-sink.ts';
import { LocalArchiveSink } from '#shared/adapters/archive/local.ts';
import { archiveSinkOf, createRoot } from '#shared/composition.ts';
import { loadConfig } from '#shared/config.ts';

describe('archiveSinkOf', () => {
  it('archives to the Firehose stream GOVERNOR_ARCHIVE_STREAM names (on AWS)', () => {
    expect(archiveSinkOf(loadConfig({ GOVERNOR_ARCHIVE_STREAM: 'governor-archive' }))).toBeInstanceOf(
      FirehoseArchiveSink,
    );
  });

  it('archives to the local folder when GOVERNOR_ARCHIVE_DIR is set, whatever the stream', () => {
    const config = loadConfig({
      GOVERNOR_ARCHIVE_DIR: '/tmp/archive',
      GOVERNOR_ARCHIVE_STREAM: 'governor-archive',
    });

    expect(archiveSinkOf(config)).toBeInstanceOf(LocalArchiveSink);
  });

  it('archives nothing when neither is set', () => {
    expect(archiveSinkOf(loadConfig({}))).toBeUndefined();
    expect(createRoot(loadConfig({})).archive).toBeUndefined();
  });

  it('gives the root an archive when the stream is set', () => {
    expect(createRoot(loadConfig({ GOVERNOR_ARCHIVE_STREAM: 'governor-archive' })).archive).toBeDefined();
  });
});
