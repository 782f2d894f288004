//! `espace-famille-local`: runs the whole portal on one machine with its demo town.

use clap::Parser;
use std::net::SocketAddr;
use std::path::PathBuf;

/// Espace Famille on this machine: every service on one port, data in a folder.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Address to listen on.
    #[arg(long, env = "EF_ADDR", default_value = "127.0.0.1:3000")]
    addr: SocketAddr,
    /// Folder where the data is kept between runs.
    #[arg(long, env = "EF_DATA_DIR", default_value = ".local-data")]
    data_dir: PathBuf,
    /// Deletes the stored data and starts afresh.
    #[arg(long)]
    reset: bool,
    /// Does not load the demo town.
    #[arg(long)]
    no_demo: bool,
    /// For browser tests and demonstrations: the portal's clock stays at this instant
    /// (RFC 3339, e.g. 2026-11-26T09:00:00Z) instead of following the system clock.
    #[arg(long, env = "EF_FROZEN_CLOCK")]
    frozen_clock: Option<chrono::DateTime<chrono::Utc>>,
    /// Folder of the web pages.
    #[arg(long, env = "EF_WEB_DIR", default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../../web"))]
    web_dir: PathBuf,
}

#[tokio::main]
#[allow(clippy::print_stdout, reason = "the local portal prints where it listens and how to sign in")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    edge::telemetry::init(false);
    let args = Args::parse();
    let listener = tokio::net::TcpListener::bind(args.addr).await?;
    let url = format!("http://{}", listener.local_addr()?);
    let opts = local_portal::Options {
        data_dir: args.data_dir.clone(),
        reset: args.reset,
        demo: !args.no_demo,
        demo_morning: !args.no_demo && args.frozen_clock.is_none(),
        web_dir: args.web_dir,
        operator_token: local_portal::LOCAL_OPERATOR_TOKEN.to_owned(),
        public_url: url.clone(),
        notifier: true,
        clock: args.frozen_clock.map_or_else(edge::clock::Clock::system, edge::clock::Clock::manual),
        s3_endpoint: Some(url.clone()),
        payfip_url: Some(url.clone()),
        grants: None,
    };
    let portal = local_portal::build(&opts).await?;
    println!();
    println!("  Espace Famille — portail local");
    println!("  Portail     : {url}/");
    println!("  Santé       : {url}/health");
    if let Some(town) = &portal.demo_town {
        let id = town.id();
        println!("  Commune     : {} ({url}/api/towns/{id})", town.config().name);
        println!("  Jours       : {url}/api/towns/{id}/days?from=2026-12-07&to=2026-12-25");
        println!(
            "  Familles    : Martin (3 enfants), Bernard et Petit (enfant en garde partagée), Nguyen (hors commune)"
        );
        println!("  Connexion   : {url}/connexion.html  mot de passe « {} »", local_portal::DEMO_PASSWORD);
        println!(
            "                parents : sophie.martin@exemple.fr, claire.bernard@exemple.fr, thomas.petit@exemple.fr"
        );
        println!(
            "                mairie  : mairie@villeneuve-les-tilleuls.fr (administratrice), agent@villeneuve-les-tilleuls.fr"
        );
        println!("  Activation  : linh.nguyen@exemple.fr n'a pas encore activé son compte : voir {url}/dev/mail");
    }
    println!("  Exploitant  : Authorization: Bearer {}", local_portal::LOCAL_OPERATOR_TOKEN);
    println!("  E-mails     : {url}/dev/mail");
    println!(
        "  Reçus       : un .eml déposé dans {} arrive comme à l'adresse des justificatifs (ou POST {url}/dev/mail/inbound)",
        portal.inbound_dir.display()
    );
    println!("  PayFiP      : {url}/payfip-simulateur/ (simulateur : aucune carte n'est débitée)");
    println!("  Documents   : {url}/documents/ (S3 local, fichiers dans {})", args.data_dir.join("s3").display());
    println!("  Données     : {} (--reset pour repartir de zéro)", args.data_dir.display());
    println!();
    let app = portal.router.clone().into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    portal.stop().await;
    Ok(())
}
