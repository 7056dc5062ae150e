import { execFile } from 'node:child_process'
import { access, chown, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir, userInfo } from 'node:os'
import { delimiter, join } from 'node:path'
import { promisify } from 'node:util'
import { StorageError } from '@kiln/interface'

const run = promisify(execFile)

/** Options of {@link startPostgresServer}. */
export interface StartPostgresServerOptions {
  /** Directory holding `initdb` and `pg_ctl`; found with {@link findPostgresBinaries} when absent. */
  binDir?: string
  /** Flush the WAL to disk (default true; tests that never crash the machine may turn it off for speed). */
  fsync?: boolean
}

/** A private PostgreSQL server on 127.0.0.1: its own cluster in a temp directory, on a free port. */
export interface PostgresServer {
  /** `postgres://postgres@127.0.0.1:<port>/postgres`. */
  readonly url: string
  readonly port: number
  readonly dataDir: string
  /** Starts the server again after `stop()` or `kill()`, on the same port and data; resolves once it accepts connections. */
  start(): Promise<void>
  /** Stops the server (fast shutdown: open connections are cut, committed data is kept). */
  stop(): Promise<void>
  /** Kills the server's processes with SIGKILL, as a crash would. */
  kill(): Promise<void>
  /** Stops the server and removes its data directory. */
  destroy(): Promise<void>
}

/** The directory of PostgreSQL's server binaries (`initdb`, `pg_ctl`): `KILN_POSTGRES_BIN`, Debian's, or the PATH. */
export async function findPostgresBinaries (): Promise<string | undefined> {
  const candidates: string[] = []
  if (process.env.KILN_POSTGRES_BIN !== undefined) candidates.push(process.env.KILN_POSTGRES_BIN)
  const debian = await readdir('/usr/lib/postgresql').catch(() => [] as string[])
  for (const version of debian.sort((a, b) => Number(b) - Number(a))) candidates.push(join('/usr/lib/postgresql', version, 'bin'))
  candidates.push(...(process.env.PATH ?? '').split(delimiter).filter((dir) => dir !== ''))
  for (const dir of candidates) {
    const found = await Promise.all(['initdb', 'pg_ctl'].map(async (bin) => await access(join(dir, bin)).then(() => true, () => false)))
    if (found.every(Boolean)) return dir
  }
  return undefined
}

/**
 * Starts a private PostgreSQL server: `initdb` into a temp directory, trust authentication on 127.0.0.1 only, a free
 * port. The server refuses to run as root, so under root it runs as the `postgres` user.
 */
export async function startPostgresServer (options: StartPostgresServerOptions = {}): Promise<PostgresServer> {
  const binDir = options.binDir ?? await findPostgresBinaries()
  if (binDir === undefined) throw new StorageError('Cannot start a PostgreSQL server: no initdb and pg_ctl found (install PostgreSQL, or set KILN_POSTGRES_BIN)')
  const asRoot = userInfo().uid === 0
  const dataDir = await mkdtemp(join(tmpdir(), 'kiln-pg-'))
  const owner = asRoot ? await postgresUser() : undefined
  const pg = async (bin: string, args: string[]): Promise<void> => {
    const file = join(binDir, bin)
    try {
      if (owner === undefined) await run(file, args)
      else await run('runuser', ['-u', 'postgres', '--', file, ...args])
    } catch (err) {
      const log = await readFile(join(dataDir, 'server.log'), 'utf8').catch(() => '')
      const stderr = String((err as { stderr?: unknown }).stderr ?? '')
      throw new StorageError(`${bin} ${args[0] ?? ''} failed: ${stderr.trim() || (err as Error).message}${log === '' ? '' : `\nserver log:\n${log.slice(-2000)}`}`, { cause: err })
    }
  }
  if (owner !== undefined) await chown(dataDir, owner.uid, owner.gid)
  await pg('initdb', ['-D', dataDir, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C'])
  await writeFile(join(dataDir, 'pg_hba.conf'), 'host all all 127.0.0.1/32 trust\n')
  if (owner !== undefined) await chown(join(dataDir, 'pg_hba.conf'), owner.uid, owner.gid)
  const port = await freePort()
  const serverOptions = [
    `-p ${port}`, '-c listen_addresses=127.0.0.1', "-c unix_socket_directories=''", '-c max_connections=100',
    `-c fsync=${options.fsync === false ? 'off' : 'on'}`
  ].join(' ')
  const start = async (): Promise<void> => {
    await pg('pg_ctl', ['start', '-D', dataDir, '-l', join(dataDir, 'server.log'), '-w', '-t', '60', '-o', serverOptions])
  }
  const stop = async (): Promise<void> => {
    if (await postmasterPid(dataDir) === undefined) return
    await pg('pg_ctl', ['stop', '-D', dataDir, '-m', 'fast', '-w', '-t', '60'])
  }
  await start()
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    dataDir,
    start,
    stop,
    kill: async () => {
      const pid = await postmasterPid(dataDir)
      if (pid === undefined) return
      // The postmaster first, then its children, which exit on their own once it is gone (or at once on SIGKILL).
      try {
        process.kill(pid, 'SIGKILL')
      } catch {
        // Already gone.
      }
      await run('pkill', ['-KILL', '-P', String(pid)]).catch(() => {})
      await rm(join(dataDir, 'postmaster.pid'), { force: true })
    },
    destroy: async () => {
      await stop().catch(() => {})
      await rm(dataDir, { recursive: true, force: true })
    }
  }
}

async function postmasterPid (dataDir: string): Promise<number | undefined> {
  const text = await readFile(join(dataDir, 'postmaster.pid'), 'utf8').catch(() => undefined)
  const pid = Number(text?.split('\n')[0])
  if (!Number.isSafeInteger(pid) || pid <= 0) return undefined
  try {
    process.kill(pid, 0)
    return pid
  } catch {
    return undefined
  }
}

async function postgresUser (): Promise<{ uid: number, gid: number }> {
  const { stdout } = await run('id', ['-u', 'postgres']).catch(() => {
    throw new StorageError('Cannot start a PostgreSQL server as root: there is no `postgres` user to run it as')
  })
  const { stdout: gid } = await run('id', ['-g', 'postgres'])
  return { uid: Number(stdout.trim()), gid: Number(gid.trim()) }
}

async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => {
        if (typeof address === 'object' && address !== null) resolve(address.port)
        else reject(new StorageError('Cannot find a free port on 127.0.0.1 for a PostgreSQL server'))
      })
    })
  })
}
