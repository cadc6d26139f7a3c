package train

import (
	"fmt"
	"image/color"
	"io"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/dla-go/dla/internal/atomicfile"
)

var (
	trainColor = color.RGBA{R: 31, G: 119, B: 180, A: 255}
	evalColor  = color.RGBA{R: 214, G: 39, B: 40, A: 255}
)

// writeCurves draws the loss (train and eval) and top-1 accuracy (train and
// eval) per epoch side by side into a PNG at path.
func writeCurves(path, title string, history []epochRecord) error {
	var trainLoss, evalLoss, trainTop1, evalTop1 plotter.XYs
	for _, h := range history {
		x := float64(h.Epoch)
		trainLoss = append(trainLoss, plotter.XY{X: x, Y: h.Loss})
		trainTop1 = append(trainTop1, plotter.XY{X: x, Y: h.Top1})
		if h.EvalLoss != nil {
			evalLoss = append(evalLoss, plotter.XY{X: x, Y: *h.EvalLoss})
		}
		if h.EvalTop1 != nil {
			evalTop1 = append(evalTop1, plotter.XY{X: x, Y: *h.EvalTop1})
		}
	}
	loss, err := curvePlot(title+": loss", "cross-entropy", trainLoss, evalLoss)
	if err != nil {
		return err
	}
	acc, err := curvePlot(title+": top-1 accuracy", "percent", trainTop1, evalTop1)
	if err != nil {
		return err
	}
	img := vgimg.New(12*vg.Inch, 4.5*vg.Inch)
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 1, Cols: 2, PadX: vg.Inch / 4, PadTop: vg.Inch / 8, PadBottom: vg.Inch / 8, PadLeft: vg.Inch / 8, PadRight: vg.Inch / 8}
	canvases := plot.Align([][]*plot.Plot{{loss, acc}}, tiles, dc)
	loss.Draw(canvases[0][0])
	acc.Draw(canvases[0][1])
	return atomicfile.Write(path, func(w io.Writer) error {
		_, err := vgimg.PngCanvas{Canvas: img}.WriteTo(w)
		return err
	})
}

func curvePlot(title, ylabel string, train, eval plotter.XYs) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "epoch"
	p.Y.Label.Text = ylabel
	p.Add(plotter.NewGrid())
	p.Legend.Top = true
	for _, s := range []struct {
		name string
		xys  plotter.XYs
		c    color.Color
	}{{"train", train, trainColor}, {"eval", eval, evalColor}} {
		if len(s.xys) == 0 {
			continue
		}
		l, pts, err := plotter.NewLinePoints(s.xys)
		if err != nil {
			return nil, fmt.Errorf("curves: %w", err)
		}
		l.Color, pts.Color = s.c, s.c
		pts.Shape = draw.CircleGlyph{}
		p.Add(l, pts)
		p.Legend.Add(s.name, l, pts)
	}
	return p, nil
}
